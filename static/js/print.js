/* asn-integrity: a "Print" button (data-print) opens the browser's print dialog. A file of its
   own: the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
