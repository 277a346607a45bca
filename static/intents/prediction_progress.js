// Keeps the admin's batch job progress bars current without a reload: each bar polls its job's status URL
// (the REST status endpoint, same-origin session) until the job is done, failed or cancelled.
(function () {
  "use strict";
  var FINISHED = ["done", "failed", "cancelled"];
  var INTERVAL_MS = 1000;

  function render(element, job) {
    element.dataset.status = job.status;
    element.querySelector("progress").value = job.progress;
    element.querySelector(".prediction-progress-label").textContent =
      job.status + " · " + job.progress + " % (" + job.done_items + "/" + job.total_items + ")";
  }

  function follow(element) {
    if (FINISHED.indexOf(element.dataset.status) !== -1) return;
    fetch(element.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (job) render(element, job);
        setTimeout(function () { follow(element); }, INTERVAL_MS);
      })
      .catch(function () { setTimeout(function () { follow(element); }, INTERVAL_MS * 5); });
  }

  function start() {
    document.querySelectorAll(".prediction-progress[data-status-url]").forEach(follow);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
