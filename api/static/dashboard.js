// Dashboard charts, drawn with the vendored Apache ECharts from the table each chart describes:
//   <div class="chart" data-chart="bar" data-chart-table="TABLE_ID" role="img" aria-label="summary" hidden></div>
//   <table id="TABLE_ID"> rows of <th scope="row">label</th><td data-value="N">…</td>
// The table is always on the page (the text alternative, and what a browser without scripts shows); the chart
// shows exactly its numbers. When a live section is refreshed (app.js sends "despacho:updated") its charts
// are drawn again from the new table.
// A table with several series names them in its header (<th data-series>, a limit drawn dashed with
// data-reference), one <td data-value> per series in each row; a row with data-mark="text" is marked on the
// time axis (a risk level change). data-chart-unit on the chart suffixes the axis ("%"); data-chart="sparkline"
// draws a line without axes.
(function () {
  "use strict";

  const charts = new Set();

  function seriesFrom(table) {
    // Only the table's own rows: a sparkline's table sits inside a row of another table.
    const rows = Array.from(table.querySelectorAll(":scope > tbody > tr"));
    const named = Array.from(table.querySelectorAll(":scope > thead > tr > th[data-series]"));
    const heads = named.length ? named : [null];
    return {
      labels: rows.map((row) => row.querySelector(":scope > th").textContent.trim()),
      values: rows.map((row) => Number(row.querySelector(":scope > td[data-value]").dataset.value) || 0),
      series: heads.map((head, n) => ({
        name: head ? head.textContent.trim() : "",
        reference: Boolean(head && head.hasAttribute("data-reference")),
        values: rows.map((row) => Number(row.querySelectorAll(":scope > td[data-value]")[n]?.dataset.value) || 0),
      })),
      marks: rows.filter((row) => row.dataset.mark).map((row) => ({
        xAxis: row.querySelector(":scope > th").textContent.trim(),
        label: { formatter: row.dataset.mark, position: "insideEndTop" },
      })),
    };
  }

  function optionsFor(el, { labels, values, series, marks }) {
    const unit = el.dataset.chartUnit ? " " + el.dataset.chartUnit : "";
    if ((el.dataset.chart || "bar") === "bar") {
      return {
        animation: false,
        aria: { enabled: false }, // the container's aria-label and the table describe the chart
        grid: { left: 36, right: 12, top: 12, bottom: 28 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: labels, axisTick: { alignWithLabel: true } },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", data: values, itemStyle: { color: colour("--pico-primary", "#1f6feb") } }],
      };
    }
    if (el.dataset.chart === "sparkline") {
      return {
        animation: false, aria: { enabled: false }, grid: { left: 2, right: 2, top: 2, bottom: 2 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: labels, show: false }, yAxis: { type: "value", show: false, min: 0 },
        series: [{ type: "line", data: series[0].values, showSymbol: false, areaStyle: { opacity: 0.2 },
                   itemStyle: { color: colour("--pico-primary", "#1f6feb") } }],
      };
    }
    return {
      animation: false,
      aria: { enabled: false },
      grid: { left: 48, right: 16, top: 40, bottom: 28 },
      legend: { top: 0, type: "scroll" },
      tooltip: { trigger: "axis", valueFormatter: (value) => value + unit },
      xAxis: { type: "category", data: labels, axisTick: { alignWithLabel: true } },
      yAxis: { type: "value", axisLabel: { formatter: "{value}" + unit } },
      series: series.map((line, n) => ({
        type: "line", name: line.name, data: line.values, showSymbol: false,
        lineStyle: line.reference ? { type: "dashed" } : undefined,
        markLine: n === 0 && marks.length ? { symbol: "none", data: marks, lineStyle: { type: "solid" } } : undefined,
      })),
    };
  }

  function colour(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }

  function draw(el) {
    const table = document.getElementById(el.dataset.chartTable);
    if (!table || !window.echarts) return;
    const found = seriesFrom(table);
    el.hidden = false;
    const data = table.closest("details");
    if (data) data.open = false; // the chart shows it now; the numbers stay one click away
    const existing = window.echarts.getInstanceByDom(el);
    // data-chart-renderer="canvas" where a page draws many points (the risk charts); SVG otherwise.
    const chart = existing || window.echarts.init(el, null, { renderer: el.dataset.chartRenderer || "svg" });
    chart.setOption(optionsFor(el, found), true);
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
