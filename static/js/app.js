/* Small behaviours of the PSA accounting UI. Everything works without them; they
   make selection and menus quicker from the keyboard and the mouse. */
(function () {
  "use strict";

  // Money as whole cents, so that sums of many amounts stay exact.
  function toCents(text) {
    var match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(text || "").trim());
    if (!match) return 0;
    var cents = parseInt(match[2], 10) * 100 + parseInt(((match[3] || "") + "00").slice(0, 2), 10);
    return match[1] ? -cents : cents;
  }

  function formatCents(cents) {
    var negative = cents < 0;
    var whole = Math.floor(Math.abs(cents) / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var rest = ("0" + (Math.abs(cents) % 100)).slice(-2);
    return (negative ? "-" : "") + whole + "." + rest;
  }

  function setupSelection(form) {
    var pageBox = form.querySelector("[data-tick-page]");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("[data-tick]"));
    var banner = form.querySelector("[data-select-banner]");
    var counter = form.querySelector("[data-selected-count]");
    var allMatching = form.querySelector("[data-select-all-matching]");
    var radio = function (value) {
      return form.querySelector('input[name="selection"][value="' + value + '"]');
    };

    var tickedTotal = document.querySelector("[data-ticked-total]");
    var tickedCount = document.querySelector("[data-ticked-count]");
    var matchingChosen = form.querySelector("[data-matching-chosen]");
    var everything = form.querySelector("[data-select-everything]");

    function refresh() {
      var tickedBoxes = boxes.filter(function (box) { return box.checked; });
      var ticked = tickedBoxes.length;
      if (counter) counter.textContent = String(ticked);
      if (tickedTotal) {
        var cents = tickedBoxes.reduce(function (sum, box) {
          return sum + toCents(box.getAttribute("data-amount"));
        }, 0);
        tickedTotal.textContent = formatCents(cents);
      }
      if (tickedCount) tickedCount.textContent = String(ticked);
      var wide = radio("matching") && radio("matching").checked;
      var all = radio("everything") && radio("everything").checked;
      if (matchingChosen) matchingChosen.hidden = !wide;
      if (banner) banner.hidden = ticked === 0 && !wide && !all;
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
    function choose(value) {
      var chosen = radio(value);
      if (chosen) {
        chosen.checked = true;
        chosen.focus();
      }
      refresh();
    }
    if (allMatching) allMatching.addEventListener("click", function () { choose("matching"); });
    if (everything) everything.addEventListener("click", function () { choose("everything"); });
    form.querySelectorAll('input[name="selection"]').forEach(function (box) {
      box.addEventListener("change", refresh);
    });
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
