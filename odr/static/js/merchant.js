// Enterprise pages: select all cases of the inbox page, count the selection, copy a secret.
(function () {
  "use strict";

  var all = document.getElementById("select-all");
  var counter = document.getElementById("selected-count");

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("input.case-select"));
  }

  function update() {
    var list = boxes();
    var chosen = list.filter(function (b) { return b.checked; }).length;
    if (counter) {
      counter.textContent = chosen ? (counter.getAttribute("data-template") || "%n").replace("%n", chosen) : "";
    }
    if (all) {
      all.checked = list.length > 0 && chosen === list.length;
      all.indeterminate = chosen > 0 && chosen < list.length;
    }
  }

  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      update();
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("case-select")) {
      update();
    }
  });

  var bulk = document.getElementById("bulk-assign");
  if (bulk) {
    bulk.addEventListener("submit", function (event) {
      if (!boxes().some(function (b) { return b.checked; })) {
        event.preventDefault();
        window.alert(bulk.getAttribute("data-empty") || "");
      }
    });
  }

  document.querySelectorAll(".copy-button").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.querySelector(button.getAttribute("data-copy"));
      if (!input) { return; }
      input.select();
      if (navigator.clipboard) {
        navigator.clipboard.writeText(input.value).catch(function () {});
      }
    });
  });
})();
