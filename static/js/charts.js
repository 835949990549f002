/* Draws every <canvas data-chart="ID"> from the JSON in <script id="ID"> (json_script): no
   inline scripts, so the Content-Security-Policy stays strict. */
(function () {
  "use strict";
  if (!window.Chart) return;
  var palette = ["#0a58ca", "#6610f2", "#198754", "#fd7e14", "#dc3545", "#20c997", "#6c757d", "#0dcaf0"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var kind = canvas.dataset.kind || "bar";
    var datasets = data.datasets || [{ label: data.label, data: data.scores }];
    datasets.forEach(function (set, i) {
      set.backgroundColor = set.backgroundColor || palette[i % palette.length] + (kind === "line" ? "" : "cc");
      set.borderColor = set.borderColor || palette[i % palette.length];
      set.spanGaps = true;
    });
    // The box is hidden in the page: without JavaScript the table beside it says the same.
    var box = canvas.closest(".chart-box");
    if (box) box.hidden = false;
    var horizontal = kind === "bar" && data.labels.length > 4;
    var valueAxis = { min: 0, max: data.max || 100, ticks: { stepSize: data.step || 20 } };
    new window.Chart(canvas, {
      type: kind,
      data: { labels: data.labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: datasets.length > 1 } },
        scales: horizontal ? { x: valueAxis } : { y: valueAxis }
      }
    });
    canvas.dataset.rendered = "true";
  });
})();
