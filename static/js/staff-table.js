/* "Select all shown" on the staff table: ticks or clears every approval box of the rows on
   this page. Without JavaScript the boxes are ticked one by one and the control stays hidden. */
(function () {
  "use strict";
  var all = document.getElementById("pilih-semua");
  if (!all) return;
  var boxes = document.querySelectorAll("input[name=pilih]");
  if (!boxes.length) return;
  all.closest("[hidden]").hidden = false;
  function sync() {
    var ticked = Array.prototype.filter.call(boxes, function (box) { return box.checked; }).length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
  boxes.forEach(function (box) { box.addEventListener("change", sync); });
  sync();
})();
