// Draws the dashboard's charts from the numbers the server embedded with json_script.
(function () {
  "use strict";

  const source = document.getElementById("dashboard-data");
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);

  const STATUS_COLOURS = ["#3b6fd8", "#d99a1e", "#2f9e5b", "#1488b8", "#b64a4a"];
  const BLUE = "#3b6fd8";

  window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  window.Chart.defaults.color = "#39404d";
  window.Chart.defaults.animation = false;

  function bar(id, series, options) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    options = options || {};
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [{
          label: options.label || "Leads",
          data: series.values,
          backgroundColor: options.colours || BLUE,
          borderRadius: 4,
          maxBarThickness: 48,
        }],
      },
      options: {
        indexAxis: options.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { beginAtZero: true, grid: { display: !!options.horizontal }, ticks: { precision: 0 } },
          y: { beginAtZero: true, grid: { display: !options.horizontal }, ticks: { precision: options.precision === undefined ? 0 : options.precision } },
        },
      },
    });
  }

  bar("chart-funnel", data.funnel, { horizontal: true, colours: STATUS_COLOURS });
  bar("chart-stages", data.stages, { label: "Median " + data.stages.unit, colours: STATUS_COLOURS, precision: 1 });
  bar("chart-weeks", data.weeks, { label: "New leads" });
  bar("chart-scores", data.scores, { colours: "#5b7bd0" });
})();
