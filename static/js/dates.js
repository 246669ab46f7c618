/* Date fields: the browser shows a date input in its own locale's form (11/27/2026);
   beside each one the date is also written as every page writes dates (27 Nov 2026),
   so the two never read differently. */
(function () {
  "use strict";

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function written(value) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    if (!parts) return "";
    return Number(parts[3]) + " " + MONTHS[Number(parts[2]) - 1] + " " + parts[1];
  }

  function setup(input) {
    var echo = document.createElement("span");
    echo.className = "date-echo";
    echo.setAttribute("data-date-echo", "");
    input.insertAdjacentElement("afterend", echo);
    function update() { echo.textContent = written(input.value); }
    input.addEventListener("input", update);
    input.addEventListener("change", update);
    update();
  }

  function start() {
    document.querySelectorAll('input[type="date"]').forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
