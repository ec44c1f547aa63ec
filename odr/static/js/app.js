// Confirmation for destructive actions: <form data-confirm="...">. No inline scripts (CSP).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A record "being prepared" (rendered by the worker after the commit): ask every few
// seconds whether it is ready, then put its download link in place of the notice.
(function () {
  var pending = document.querySelector("[data-status-url]");
  if (!pending || !window.fetch) {
    return;
  }
  var tries = 0;
  function check() {
    tries += 1;
    fetch(pending.getAttribute("data-status-url"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (status && status.ready) {
          var link = document.createElement("a");
          link.className = "btn btn-primary outcome-record";
          link.id = pending.id;
          link.href = pending.getAttribute("data-url");
          link.textContent = pending.getAttribute("data-label");
          pending.replaceWith(link);
        } else if (tries < 40) {
          window.setTimeout(check, 3000);
        }
      })
      .catch(function () {
        if (tries < 40) {
          window.setTimeout(check, 3000);
        }
      });
  }
  window.setTimeout(check, 1500);
})();
