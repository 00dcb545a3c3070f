// A job's page: poll its progress JSON until the job ends, and redraw the bar,
// the step statuses and the log tail. No inline script (the site has a CSP);
// when a step starts or stops waiting for a decision the page reloads so the
// server renders the approve/reject form with its CSRF token.
(function () {
  "use strict";
  const root = document.getElementById("job");
  if (!root) return;
  const url = root.dataset.progressUrl;
  const POLL_MS = 1500;
  let waitingBefore = null;

  function text(selector, value) {
    const el = document.querySelector(selector);
    if (el) el.textContent = value;
  }

  function render(job) {
    const bar = document.querySelector("[data-job-bar]");
    if (bar) { bar.value = job.progress.percent; bar.textContent = job.progress.percent + "%"; }
    text("[data-job-status]", job.status);
    text("[data-job-done]", job.progress.done);
    text("[data-job-total]", job.progress.total);
    text("[data-job-message]", job.progress.message);
    const error = document.querySelector("[data-job-error]");
    if (error) { error.textContent = job.error; error.hidden = !job.error; }
    job.steps.forEach(function (step) {
      const item = document.querySelector('[data-step="' + CSS.escape(step.name) + '"]');
      if (!item) return;
      item.className = "jobs-step jobs-step-" + step.status;
      const badge = item.querySelector("[data-step-status]");
      if (badge) badge.textContent = step.status;
    });
    const log = document.querySelector("[data-job-log]");
    if (log) {
      log.textContent = job.log.map(function (e) {
        return e.at + " " + (e.step || "-") + ": " + e.line;
      }).join("\n");
      log.scrollTop = log.scrollHeight;
    }
    const waiting = job.waiting_for_decision.join(",");
    if (waitingBefore !== null && waiting !== waitingBefore) { window.location.reload(); return false; }
    waitingBefore = waiting;
    if (job.terminal) {
      document.querySelectorAll("[data-job-live]").forEach(function (el) { el.remove(); });
      return false;
    }
    return true;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (job) { if (render(job)) window.setTimeout(poll, POLL_MS); })
      .catch(function () { window.setTimeout(poll, POLL_MS * 4); });
  }

  if (root.dataset.terminal !== "true") window.setTimeout(poll, POLL_MS);
})();
