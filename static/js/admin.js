/* asn-integrity: small accessibility repairs to the Django admin's pages (no inline scripts:
   the Content-Security-Policy stays strict). */
(function () {
  "use strict";
  var labels = document.getElementById("admin-a11y-labels");
  if (!labels) return;

  // A region that scrolls sideways on a narrow screen (a tabular inline) can be reached and
  // scrolled with the keyboard, under the name of its heading.
  function scrollRegions() {
    document.querySelectorAll(".inline-group").forEach(function (group) {
      if (group.scrollWidth <= group.clientWidth || group.hasAttribute("tabindex")) return;
      var heading = group.querySelector("h2");
      group.setAttribute("tabindex", "0");
      group.setAttribute("role", "region");
      group.setAttribute("aria-label", heading ? heading.textContent.trim() : labels.dataset.region);
    });
  }

  // treebeard's expand/collapse buttons in the tree of units have no text of their own.
  function treeButtons() {
    document.querySelectorAll("a.treebeard-collapse:not([aria-label])").forEach(function (button) {
      var row = button.closest("tr");
      var name = row ? row.querySelector("th a, td a:not(.treebeard-collapse)") : null;
      button.setAttribute("aria-label", labels.dataset.toggle + (name ? ": " + name.textContent.trim() : ""));
    });
  }

  function repair() { scrollRegions(); treeButtons(); }
  // treebeard builds its buttons when jQuery's "ready" fires; "load" comes after it.
  window.addEventListener("load", function () {
    repair();
    var list = document.getElementById("result_list");
    if (list && window.MutationObserver) new MutationObserver(treeButtons).observe(list, { childList: true, subtree: true });
  });
  window.addEventListener("resize", scrollRegions);
})();
