/*
 * Live progress for admin pages, without a reload: generic, no dependencies, no inline script (strict CSP).
 *
 * <div data-progress-url="/admin/…/progress.json"     JSON polled with the session cookie
 *      data-progress-interval="1000"                   milliseconds between polls (default 1000)
 *      data-progress-done="finished">                  stop once this key of the JSON is true
 *   <span data-progress-field="stage"></span>          textContent = json.stage
 *   <progress data-progress-field="progress"></progress>   value = json.progress (<progress>, <meter>, <input>)
 *   <div data-progress-field="error" hidden></div>     an element starting hidden shows only while non-empty
 * </div>
 *
 * Elements naming the same URL share one poll. Each root's data-progress-state says "polling", "done" or
 * "error" (a 4xx answer stops polling; network and 5xx errors back off up to 30 s and retry).
 * Used by the training job pages (intents/admin/training.py, its progress.json) and the batch prediction job
 * pages (intents/admin/prediction_jobs.py, the REST status, done once `finished_at` is set).
 */
(function () {
  "use strict";

  var MAX_BACKOFF_MS = 30000;

  function show(element, value) {
    var text = value === null || value === undefined ? "" : String(value);
    if ("value" in element && /^(PROGRESS|METER|INPUT)$/.test(element.tagName)) {
      element.value = Number(value) || 0;
    } else {
      element.textContent = text;
    }
    if (element.hasAttribute("data-progress-hide-empty")) {
      element.hidden = text === "";
    }
  }

  function fill(root, data) {
    root.querySelectorAll("[data-progress-field]").forEach(function (element) {
      var key = element.getAttribute("data-progress-field");
      if (Object.prototype.hasOwnProperty.call(data, key)) {
        show(element, data[key]);
      }
    });
  }

  function setState(roots, state) {
    roots.forEach(function (root) { root.setAttribute("data-progress-state", state); });
  }

  function poll(url, roots) {
    var first = roots[0];
    var interval = parseInt(first.getAttribute("data-progress-interval"), 10) || 1000;
    var doneKey = first.getAttribute("data-progress-done");
    var delay = interval;

    function next() {
      window.setTimeout(tick, delay);
    }

    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) {
          if (response.status >= 400 && response.status < 500) {
            setState(roots, "error");
            return null;
          }
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json().then(function (data) {
            roots.forEach(function (root) { fill(root, data); });
            delay = interval;
            if (doneKey && data[doneKey]) {
              setState(roots, "done");
            } else {
              next();
            }
          });
        })
        .catch(function () {
          delay = Math.min(delay * 2, MAX_BACKOFF_MS);
          next();
        });
    }

    setState(roots, "polling");
    tick();
  }

  function start() {
    var byUrl = {};
    document.querySelectorAll("[data-progress-url]").forEach(function (root) {
      var url = root.getAttribute("data-progress-url");
      (byUrl[url] = byUrl[url] || []).push(root);
    });
    Object.keys(byUrl).forEach(function (url) { poll(url, byUrl[url]); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
