// The progress of a background job, asked every 1.5 s until it is finished (without JavaScript
// the page refreshes itself instead: the <noscript> refresh in its head).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.finished === "1") return;
  var bar = document.getElementById("job-progress");
  function show(status) {
    document.getElementById("job-state").textContent = status.state_label;
    document.getElementById("job-count").textContent = status.total ? "· " + status.done + " / " + status.total : "";
    bar.value = status.percent;
    bar.textContent = status.percent + "%";
    document.getElementById("job-summary").textContent = status.summary;
    if (status.finished) {
      // The finished page says everything (the error, the file and until when it is kept).
      window.location.reload();
    }
  }
  function ask() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) { if (status) show(status); if (!status || !status.finished) setTimeout(ask, 1500); })
      .catch(function () { setTimeout(ask, 5000); });
  }
  setTimeout(ask, 1000);
})();
