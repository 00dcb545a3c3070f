// The soak page: draw each gate's figure (built server-side with plotly's Python API).
(function () {
  "use strict";
  function draw() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      const source = document.getElementById(el.dataset.figure);
      if (!source) return;
      const figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(el, figure.data, figure.layout, { displayModeBar: false, responsive: true });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
