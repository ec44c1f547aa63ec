// Mediation workspace: the place of a session is required on site and optional online.
// No inline scripts (CSP).
(function () {
  var form = document.getElementById("session-form");
  if (!form) {
    return;
  }
  var place = form.querySelector("[name='sess-place']");
  var radios = form.querySelectorAll("[name='sess-mode']");
  function sync() {
    var onSite = form.querySelector("[name='sess-mode'][value='on_site']");
    if (place && onSite) {
      place.required = onSite.checked;
    }
  }
  for (var i = 0; i < radios.length; i++) {
    radios[i].addEventListener("change", sync);
  }
  sync();
})();
