// The coordination board: charts, filters that apply on change, and moving a card
// without reloading the page. Every move is a CSRF-protected POST that goes through
// the same rules as the admin and the API; a refusal is shown on the card.
(function () {
  "use strict";

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // --- charts: figures built server-side (plotly's Python API), drawn here.
  function drawCharts() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      const source = document.getElementById(el.dataset.figure);
      if (!source) return;
      const figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(el, figure.data, figure.layout, { displayModeBar: false, responsive: true });
    });
  }

  // --- filters: a select applies as soon as it changes.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // --- moves.
  function showError(form, message) {
    const box = form.querySelector(".coord-error");
    box.textContent = message;
    box.hidden = false;
  }

  function updateCounts() {
    document.querySelectorAll("[data-column]").forEach(function (column) {
      const count = column.querySelector("[data-count]");
      const delta = parseInt(column.dataset.delta || "0", 10);
      if (count && delta) {
        count.textContent = String(parseInt(count.textContent, 10) + delta);
        column.dataset.delta = "0";
      }
    });
  }

  function moveCard(card, form, task) {
    const from = card.closest("[data-column]");
    const to = document.querySelector('[data-column="' + task.status + '"] .coord-cards');
    const select = form.querySelector('select[name="to"]');
    select.innerHTML = '<option value="">Move to…</option>' + task.moves.map(function (m) {
      return '<option value="' + m.status + '">' + m.label + "</option>";
    }).join("");
    const reason = form.querySelector('input[name="reason"]');
    reason.hidden = true;
    reason.value = "";
    card.classList.add("coord-moved");
    if (!from || !to) return;
    const placeholder = to.querySelector(".coord-empty");
    if (placeholder) placeholder.remove();
    to.prepend(card);
    from.dataset.delta = String(parseInt(from.dataset.delta || "0", 10) - 1);
    const target = to.closest("[data-column]");
    target.dataset.delta = String(parseInt(target.dataset.delta || "0", 10) + 1);
    updateCounts();
  }

  document.querySelectorAll("form.coord-move").forEach(function (form) {
    const select = form.querySelector('select[name="to"]');
    const reason = form.querySelector('input[name="reason"]');
    select.addEventListener("change", function () {
      reason.hidden = select.value !== "blocked";
      if (!reason.hidden) reason.focus();
    });
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const box = form.querySelector(".coord-error");
      box.hidden = true;
      if (!select.value) {
        showError(form, "Choose where to move it.");
        return;
      }
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch", Accept: "application/json" },
        });
        const body = await response.json().catch(function () { return {}; });
        if (!response.ok) {
          showError(form, (body.error && body.error.message) || "The move failed (" + response.status + ").");
          return;
        }
        const card = form.closest(".coord-card");
        if (card) {
          moveCard(card, form, body.task);
        } else {
          window.location.reload();  // the task page: show the new state and history
        }
      } catch (err) {
        showError(form, "The server could not be reached; try again.");
      } finally {
        button.disabled = false;
      }
    });
  });

  if (document.readyState === "complete") drawCharts();
  else window.addEventListener("load", drawCharts);
})();
