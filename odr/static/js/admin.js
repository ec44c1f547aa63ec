// Regulator console: draws each <canvas data-chart="bar|line|doughnut"> with Chart.js from
// its data-labels / data-values attributes (JSON). No inline scripts (CSP); the same
// numbers are in the table under each chart.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") {
    return;
  }
  var palette = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#d63384", "#20c997",
    "#ffc107", "#0dcaf0", "#6c757d", "#dc3545"];

  function parse(value) {
    try {
      return JSON.parse(value || "[]");
    } catch (e) {
      return [];
    }
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var type = canvas.getAttribute("data-chart");
    var labels = parse(canvas.getAttribute("data-labels"));
    var values = parse(canvas.getAttribute("data-values"));
    var horizontal = canvas.getAttribute("data-horizontal") === "true";
    var line = type === "line";
    var colours = line ? palette[0] : labels.map(function (_, i) { return palette[i % palette.length]; });
    new window.Chart(canvas, {
      type: type,
      data: {
        labels: labels,
        datasets: [{
          label: canvas.getAttribute("data-series-label") || "",
          data: values,
          backgroundColor: colours,
          borderColor: line ? palette[0] : colours,
          fill: false,
          tension: 0.2
        }]
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: type === "doughnut" } },
        scales: type === "doughnut" ? {} : {
          x: { ticks: { autoSkip: true, maxRotation: 60 }, beginAtZero: true },
          y: { beginAtZero: true, ticks: { precision: 0 } }
        }
      }
    });
    canvas.setAttribute("data-drawn", "true");
  });
})();
