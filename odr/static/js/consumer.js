// Consumer pages. Everything works without this file; it only tidies the filing wizard.
(function () {
  "use strict";

  // Step 1: show the "not listed" fields only when "It is not listed" is chosen
  // (always shown when there is an error in them, or when scripts are off).
  var notListed = document.getElementById("not-listed");
  var form = document.getElementById("respondent-form");
  if (notListed && form) {
    var hasError = notListed.querySelector(".is-invalid") !== null;
    var sync = function () {
      var other = document.getElementById("enterprise-other");
      var show = hasError || (other && other.checked);
      notListed.hidden = !show;
    };
    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "enterprise_id") {
        hasError = false;
        sync();
      }
    });
    sync();
  }

  // The last step files the complaint: one click, one complaint.
  var review = document.getElementById("review-form");
  if (review) {
    review.addEventListener("submit", function () {
      var button = document.getElementById("step-submit");
      window.setTimeout(function () { if (button) button.disabled = true; }, 0);
    });
  }

  // After a failed submit, move the focus to the list of problems so that screen-reader
  // and keyboard users hear what to fix.
  var summary = document.getElementById("error-summary") || document.getElementById("review-problems");
  if (summary) {
    if (!summary.hasAttribute("tabindex")) summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
})();
