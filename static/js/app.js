/* Small behaviours of the PSA accounting UI. Everything works without them; they
   make selection and menus quicker from the keyboard and the mouse. */
(function () {
  "use strict";

  function setupSelection(form) {
    var pageBox = form.querySelector("[data-tick-page]");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("[data-tick]"));
    var banner = form.querySelector("[data-select-banner]");
    var counter = form.querySelector("[data-selected-count]");
    var allMatching = form.querySelector("[data-select-all-matching]");
    var radio = function (value) {
      return form.querySelector('input[name="selection"][value="' + value + '"]');
    };

    function refresh() {
      var ticked = boxes.filter(function (box) { return box.checked; }).length;
      if (counter) counter.textContent = String(ticked);
      if (banner) banner.hidden = ticked === 0;
      if (pageBox) {
        pageBox.checked = ticked > 0 && ticked === boxes.length;
        pageBox.indeterminate = ticked > 0 && ticked < boxes.length;
      }
    }

    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        var selected = radio("selected");
        if (box.checked && selected) selected.checked = true;
        refresh();
      });
    });
    if (pageBox) {
      pageBox.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = pageBox.checked; });
        var selected = radio("selected");
        if (pageBox.checked && selected) selected.checked = true;
        refresh();
      });
    }
    if (allMatching) {
      allMatching.addEventListener("click", function () {
        var matching = radio("matching");
        if (matching) {
          matching.checked = true;
          matching.focus();
        }
      });
    }
    refresh();
  }

  function setupMenus() {
    document.addEventListener("click", function (event) {
      document.querySelectorAll("details.more-menu[open]").forEach(function (menu) {
        if (!menu.contains(event.target)) menu.removeAttribute("open");
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      document.querySelectorAll("details.more-menu[open]").forEach(function (menu) {
        menu.removeAttribute("open");
        var summary = menu.querySelector("summary");
        if (summary) summary.focus();
      });
    });
  }

  function setupBatchTable(table) {
    var all = table.querySelector("[data-tick-all-batches]");
    if (!all) return;
    all.addEventListener("change", function () {
      table.querySelectorAll("[data-tick-batch]").forEach(function (box) { box.checked = all.checked; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-selection-form]").forEach(setupSelection);
    document.querySelectorAll("[data-batch-table]").forEach(setupBatchTable);
    setupMenus();
  });

  // A confirmation loaded into the page: close the menu, show it, focus OK.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "confirm-area") {
      document.querySelectorAll("details.more-menu[open]").forEach(function (menu) {
        menu.removeAttribute("open");
      });
      var ok = event.detail.target.querySelector("[autofocus]");
      event.detail.target.scrollIntoView({ block: "nearest" });
      if (ok) ok.focus();
    }
  });
})();
