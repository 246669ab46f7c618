/* The main menu on a narrow screen: folded behind the Menu button, which opens and
   closes it (aria-expanded tells assistive technology which). Without this script the
   menu stays unfolded: the fold is made only once the button works. */
(function () {
  "use strict";

  function setup() {
    var button = document.querySelector("[data-menu-toggle]");
    var panel = document.querySelector("[data-menu-panel]");
    if (!button || !panel) return;
    document.documentElement.classList.add("menu-foldable");

    function set(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      panel.classList.toggle("menu-open", open);
    }

    button.addEventListener("click", function () {
      set(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        set(false);
        button.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
