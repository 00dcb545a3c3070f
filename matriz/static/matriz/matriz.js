// Draws the MATRIZ page's charts: each <script type="application/json" data-plot="ID">
// holds a plotly figure built server-side; it is drawn into the element with that id.
(function () {
  function draw() {
    if (!window.Plotly) return;
    document.querySelectorAll('script[type="application/json"][data-plot]').forEach(function (source) {
      var target = document.getElementById(source.dataset.plot);
      if (!target) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(target, figure.data, figure.layout, { displaylogo: false, responsive: true });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
