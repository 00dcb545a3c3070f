// Small progressive enhancements; every page works without them.
// data-poll="URL" data-interval="ms": replace the element's content with the
// HTML fragment at URL every interval (the readiness table, job progress).
(function () {
  function poll(el) {
    const url = el.dataset.poll;
    const every = parseInt(el.dataset.interval || "10000", 10);
    async function tick() {
      try {
        const response = await fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
        if (response.ok) el.innerHTML = await response.text();
      } catch (err) {
        // Keep the last good content; the next tick tries again.
      }
      setTimeout(tick, every);
    }
    setTimeout(tick, every);
  }
  document.querySelectorAll("[data-poll]").forEach(poll);
})();
