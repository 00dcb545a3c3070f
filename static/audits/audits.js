// Codebase health pages: draw the trend figures (built server-side with plotly),
// and while an audit runs, reload the page when its job ends so the report shows.
// No inline script (the site has a CSP).
(function () {
  "use strict";
  function drawCharts() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      const source = document.getElementById(el.dataset.figure);
      if (!source) return;
      const figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(el, figure.data, figure.layout, { displayModeBar: false, responsive: true });
      el.dataset.drawn = "true";
    });
  }
  drawCharts();

  const running = document.querySelector("[data-audit-running]");
  if (running) {
    const url = running.dataset.progressUrl;
    const check = function () {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (job) {
          if (job.terminal) window.location.reload();
          else window.setTimeout(check, 2000);
        })
        .catch(function () { window.setTimeout(check, 8000); });
    };
    window.setTimeout(check, 2000);
  }
})();
