// Peer-RX's admin: one repair to Django's own widgets, for WCAG 2.1 AA.
// The filter boxes of a many-to-many field (SelectFilter2) draw their help icon as a <span> with
// an aria-label, which a span may not carry; as an image it may, and screen readers read it.
(function () {
  "use strict";
  function nameTheHelpIcons() {
    document.querySelectorAll(".search-label-icon[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }
  // SelectFilter2 builds its boxes on "load"; run after every load handler.
  window.addEventListener("load", function () { window.setTimeout(nameTheHelpIcons, 0); });
})();
