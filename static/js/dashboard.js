/* Finance dashboard: draws the two charts with Chart.js from the page's JSON data block
   (#dashboard-data). Each kind is told apart by a fill pattern as well as its colour,
   the line by its dashes and triangle points; the tables beside the charts hold the
   same numbers. */
(function () {
  "use strict";

  // Okabe–Ito colours (distinct for the common colour-vision deficiencies).
  var COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  var PATTERNS = ["solid", "stripes", "dots", "cross", "zigzag", "grid"];

  function pattern(kind, colour) {
    var size = 10;
    var tile = document.createElement("canvas");
    tile.width = size;
    tile.height = size;
    var ctx = tile.getContext("2d");
    ctx.fillStyle = colour;
    if (kind === "solid") {
      ctx.fillRect(0, 0, size, size);
      return ctx.createPattern(tile, "repeat");
    }
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, size, size);
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    if (kind === "stripes") {
      ctx.moveTo(0, size);
      ctx.lineTo(size, 0);
      ctx.moveTo(-2, 2);
      ctx.lineTo(2, -2);
      ctx.moveTo(size - 2, size + 2);
      ctx.lineTo(size + 2, size - 2);
      ctx.stroke();
    } else if (kind === "dots") {
      ctx.arc(size / 2, size / 2, 2.6, 0, 2 * Math.PI);
      ctx.fill();
    } else if (kind === "cross") {
      ctx.moveTo(0, 0);
      ctx.lineTo(size, size);
      ctx.moveTo(size, 0);
      ctx.lineTo(0, size);
      ctx.stroke();
    } else if (kind === "zigzag") {
      ctx.moveTo(0, size * 0.7);
      ctx.lineTo(size / 2, size * 0.3);
      ctx.lineTo(size, size * 0.7);
      ctx.stroke();
    } else {
      ctx.moveTo(size / 2, 0);
      ctx.lineTo(size / 2, size);
      ctx.moveTo(0, size / 2);
      ctx.lineTo(size, size / 2);
      ctx.stroke();
    }
    return ctx.createPattern(tile, "repeat");
  }

  function drawUnposted(Chart, canvas, data) {
    var datasets = data.series.map(function (series, index) {
      var colour = COLOURS[index % COLOURS.length];
      return {
        label: series.label,
        data: series.values,
        backgroundColor: pattern(PATTERNS[index % PATTERNS.length], colour),
        borderColor: colour,
        borderWidth: 1.5
      };
    });
    return new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { title: { display: true, text: "Age (days since the record's date)" } },
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Records" } }
        },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function drawPerDay(Chart, canvas, data) {
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          {
            type: "bar",
            label: "Batches (bars, left scale)",
            data: data.batches,
            backgroundColor: pattern("stripes", COLOURS[0]),
            borderColor: COLOURS[0],
            borderWidth: 1,
            yAxisID: "batches"
          },
          {
            type: "line",
            label: "Total amount (dashed line, right scale)",
            data: data.totals,
            borderColor: COLOURS[1],
            backgroundColor: COLOURS[1],
            borderDash: [6, 4],
            pointStyle: "triangle",
            // Points only on days with batches, so the line stays readable.
            pointRadius: function (context) { return context.raw > 0 ? 4 : 0; },
            borderWidth: 2,
            yAxisID: "totals"
          }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { ticks: { maxTicksLimit: 12, autoSkip: true } },
          batches: {
            type: "linear",
            position: "left",
            beginAtZero: true,
            ticks: { precision: 0 },
            title: { display: true, text: "Batches" }
          },
          totals: {
            type: "linear",
            position: "right",
            beginAtZero: true,
            grid: { drawOnChartArea: false },
            title: { display: true, text: "Total amount" }
          }
        },
        plugins: { legend: { position: "bottom", labels: { usePointStyle: false } } }
      }
    });
  }

  function start() {
    var source = document.getElementById("dashboard-data");
    var Chart = window.Chart;
    if (!source || !Chart) return;
    var data = JSON.parse(source.textContent);
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#3d4a57";
    var unposted = document.getElementById("chart-unposted");
    var perDay = document.getElementById("chart-per-day");
    if (unposted) drawUnposted(Chart, unposted, data.unposted);
    if (perDay) drawPerDay(Chart, perDay, data.perDay);
    document.documentElement.setAttribute("data-charts", "drawn");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
