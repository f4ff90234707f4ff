// Live progress: every element with data-live polls its progress URL and
// updates its bar, percentage and state; when an import ends, the page
// reloads to show its counts and results. Without this script, a reload
// shows the same news.
(function () {
  "use strict";
  var live = document.querySelectorAll("[data-live]");
  if (!live.length) { return; }
  function poll(el) {
    fetch(el.getAttribute("data-live"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { return; }
        var bar = el.querySelector("[data-live-bar]");
        if (bar) { bar.value = p.progress; }
        var pct = el.querySelector("[data-live-pct]");
        if (pct) { pct.textContent = p.progress + " %"; }
        var detail = el.querySelector("[data-live-detail]");
        if (detail && p.detail) { detail.textContent = p.detail; }
        var state = el.querySelector("[data-live-state]") || document.querySelector("[data-state]");
        if (state) { state.textContent = p.label; }
        if (p.running) {
          setTimeout(function () { poll(el); }, 700);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(function () { poll(el); }, 3000); });
  }
  for (var i = 0; i < live.length; i++) { poll(live[i]); }
})();
