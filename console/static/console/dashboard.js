// The trust dashboard's charts, drawn with Chart.js (served from
// vendor/chart.js/) from the JSON the page embeds with json_script. The server
// decides what is empty: a chart whose data is null has no canvas, only the
// "No data in this range yet" note.
document.addEventListener("DOMContentLoaded", () => {
  const blob = document.getElementById("dashboard-data");
  if (!blob || typeof Chart === "undefined") return;
  const data = JSON.parse(blob.textContent);

  // Follow the admin's light or dark theme.
  const css = getComputedStyle(document.documentElement);
  const cssVar = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  Chart.defaults.color = cssVar("--body-quiet-color", "#666");
  Chart.defaults.borderColor = cssVar("--hairline-color", "#e0e0e0");
  Chart.defaults.font.family = css.getPropertyValue("--font-family-primary") || undefined;
  Chart.defaults.maintainAspectRatio = false;
  // No motion for those who asked their system for less (and for screenshots).
  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
    Chart.defaults.animation = false;
  }

  const blue = "#417690", teal = "#2a9d8f", amber = "#e9a23b", red = "#c0392b", grey = "#9aa5ad";
  const palette = [blue, teal, amber, red, "#6c5ce7", "#8d6e63", grey];
  const money = (value, currency) =>
    `${Number(value).toFixed(2)}${currency ? " " + currency : ""}`;
  const draw = (id, config) => {
    const canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  };

  if (data.budget) {
    const { labels, spent, budget, currency } = data.budget;
    draw("chart-budget", {
      type: "bar",
      data: {
        labels,
        datasets: [
          { label: "Spent", data: spent, backgroundColor: blue },
          { label: "Budget for the range", data: budget, backgroundColor: grey + "66",
            borderColor: grey, borderWidth: 1 },
        ],
      },
      options: {
        scales: { y: { beginAtZero: true, title: { display: !!currency, text: currency } } },
        plugins: {
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${money(c.raw, currency)}` } },
        },
      },
    });
  }

  if (data.kinds) {
    draw("chart-kinds", {
      type: "doughnut",
      data: {
        labels: data.kinds.labels,
        datasets: [{ data: data.kinds.totals, backgroundColor: palette }],
      },
      options: {
        plugins: {
          legend: { position: "right" },
          tooltip: { callbacks: { label: (c) => `${c.label}: ${money(c.raw)}` } },
        },
      },
    });
  }

  if (data.series) {
    const s = data.series;
    // A rate is null where there was nothing to count: leave a gap there
    // rather than draw a line through days or weeks that had no mishap.
    const rateLine = {
      spanGaps: false, pointRadius: 3, clip: false, cubicInterpolationMode: "monotone", order: 1,
    };
    draw("chart-series", {
      data: {
        labels: s.labels,
        datasets: [
          { type: "bar", label: "Mishaps", data: s.mishaps, backgroundColor: amber + "99",
            yAxisID: "count", order: 2 },
          { type: "line", label: "Apology rate (%)", data: s.apology_rate, borderColor: blue,
            backgroundColor: blue, yAxisID: "percent", ...rateLine },
          { type: "line", label: "Promises kept (%)", data: s.promises_kept_rate,
            borderColor: teal, backgroundColor: teal, yAxisID: "percent", ...rateLine },
        ],
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          count: { position: "left", beginAtZero: true, ticks: { precision: 0 },
                   title: { display: true, text: "Mishaps" } },
          percent: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
                     title: { display: true, text: "%" } },
          x: { title: { display: true, text: s.bucket === "week" ? "Week starting" : "Day" },
               ticks: { autoSkip: true, maxRotation: 0 } },
        },
      },
    });
  }

  if (data.ratings) {
    draw("chart-ratings", {
      type: "bar",
      data: {
        labels: ["Recovered customers", "Never failed"],
        datasets: [{
          label: "Average rating",
          data: [data.ratings.recovered, data.ratings.never_failed],
          backgroundColor: [teal, grey],
        }],
      },
      options: {
        scales: { y: { min: 0, max: 5, ticks: { stepSize: 1 } } },
        plugins: { legend: { display: false } },
      },
    });
  }

  if (data.word_of_mouth) {
    const w = data.word_of_mouth;
    draw("chart-word", {
      type: "bar",
      data: {
        labels: ["Happy (×3)", "Resolved (×5, of 4–6)", "Unhappy (×12, of 9–15)"],
        datasets: [{
          label: "People told (estimate from commonly cited figures)",
          data: [w.happy, w.resolved, w.unhappy],
          backgroundColor: [teal, blue, red],
        }],
      },
      options: {
        indexAxis: "y",
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: {
          legend: { display: false },
          subtitle: { display: true, text: "People told: an estimate from commonly cited figures, not a count" },
        },
      },
    });
  }
});
