// skynet panel: draws the charts (Chart.js, served with the cog) and sorts tables. No inline script:
// chart data comes from <script type="application/json"> blocks.
(function () {
  "use strict";

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function usageChart(canvas, d) {
    var datasets = [
      { type: "bar", label: d.names.requests, data: d.requests, yAxisID: "y", backgroundColor: "rgba(54, 162, 235, 0.6)" },
      { type: "line", label: d.names.tokens, data: d.tokens, yAxisID: "y1", borderColor: "rgb(255, 99, 132)", tension: 0.2 }
    ];
    if (d.cost) {
      datasets.push({ type: "line", label: d.names.cost, data: d.cost, yAxisID: "y2", borderColor: "rgb(75, 192, 100)", hidden: true });
    }
    return new window.Chart(canvas, {
      data: { labels: d.labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: {
          y: { position: "left", beginAtZero: true, title: { display: true, text: d.names.requests } },
          y1: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: d.names.tokens } },
          y2: { display: false, beginAtZero: true }
        }
      }
    });
  }

  function budgetChart(canvas, d) {
    var datasets = [{ type: "bar", label: d.names.spend, data: d.spend, backgroundColor: "rgba(255, 159, 64, 0.6)" }];
    if (d.limit !== null && d.limit !== undefined) {
      datasets.push({ type: "line", label: d.names.limit, data: d.labels.map(function () { return d.limit; }), borderColor: "rgb(200, 0, 0)", pointRadius: 0 });
    }
    return new window.Chart(canvas, {
      data: { labels: d.labels, datasets: datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } }
    });
  }

  function drawCharts() {
    if (!window.Chart) { return; }
    window.skynetCharts = [];
    var usage = document.getElementById("usage-chart");
    if (usage) { window.skynetCharts.push(usageChart(usage, data("usage-data"))); }
    var budget = document.getElementById("budget-chart");
    if (budget) { window.skynetCharts.push(budgetChart(budget, data("budget-data"))); }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      window.skynetCharts.push(usageChart(canvas, data(canvas.getAttribute("data-chart"))));
    });
  }

  function sortBy(table, column, button) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = button.getAttribute("data-order") !== "asc";
    table.querySelectorAll("th button").forEach(function (b) { b.removeAttribute("data-order"); });
    button.setAttribute("data-order", ascending ? "asc" : "desc");
    rows.sort(function (a, b) {
      var x = a.cells[column].getAttribute("data-sort"), y = b.cells[column].getAttribute("data-sort");
      var nx = parseFloat(x), ny = parseFloat(y);
      var result = (!isNaN(nx) && !isNaN(ny) && String(nx) === x.trim() && String(ny) === y.trim())
        ? nx - ny : x.localeCompare(y);
      return ascending ? result : -result;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function sortableTables() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      table.querySelectorAll("th button").forEach(function (button, column) {
        button.addEventListener("click", function () { sortBy(table, column, button); });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    sortableTables();
    drawCharts();
  });
})();
