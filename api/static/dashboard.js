// Dashboard charts, drawn with the vendored Apache ECharts from the table each chart describes:
//   <div class="chart" data-chart="bar" data-chart-table="TABLE_ID" role="img" aria-label="summary" hidden></div>
//   <table id="TABLE_ID"> rows of <th scope="row">label</th><td data-value="N">…</td>
// The table is always on the page (the text alternative, and what a browser without scripts shows); the chart
// shows exactly its numbers. When a live section is refreshed (app.js sends "despacho:updated") its charts
// are drawn again from the new table.
(function () {
  "use strict";

  const charts = new Set();

  function seriesFrom(table) {
    const rows = Array.from(table.querySelectorAll("tbody tr"));
    return {
      labels: rows.map((row) => row.querySelector("th").textContent.trim()),
      values: rows.map((row) => Number(row.querySelector("td[data-value]").dataset.value) || 0),
    };
  }

  function colour(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }

  function draw(el) {
    const table = document.getElementById(el.dataset.chartTable);
    if (!table || !window.echarts) return;
    const { labels, values } = seriesFrom(table);
    el.hidden = false;
    const data = table.closest("details");
    if (data) data.open = false; // the chart shows it now; the numbers stay one click away
    const existing = window.echarts.getInstanceByDom(el);
    const chart = existing || window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      aria: { enabled: false }, // the container's aria-label and the table describe the chart
      grid: { left: 36, right: 12, top: 12, bottom: 28 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: labels, axisTick: { alignWithLabel: true } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: el.dataset.chart || "bar", data: values, itemStyle: { color: colour("--pico-primary", "#1f6feb") } }],
    });
    charts.add(chart);
  }

  function drawAll(root) {
    // A refreshed section replaced its chart's element: let go of the chart drawn in the old one.
    charts.forEach((chart) => {
      if (!chart.getDom().isConnected) {
        chart.dispose();
        charts.delete(chart);
      }
    });
    root.querySelectorAll("[data-chart][data-chart-table]").forEach(draw);
  }

  function start() {
    drawAll(document);
    document.addEventListener("despacho:updated", (event) => drawAll(event.target));
    window.addEventListener("resize", () => {
      charts.forEach((chart) => chart.resize());
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
