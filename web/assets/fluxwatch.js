// fluxwatch.js: draws the charts of a fluxwatch page with Chart.js (served by fluxwatch
// itself, from Debian's libjs-chart.js). The data comes from the page's
// <script type="application/json" id="chart-data">; nothing is fetched. After drawing, each
// chart's <figure> gets data-drawn-points = the number of points Chart.js laid out, which the
// tests read back.
'use strict';
(function () {
  const dataNode = document.getElementById('chart-data');
  if (!dataNode) {
    return;
  }
  const spec = JSON.parse(dataNode.textContent);
  const byId = new Map(spec.charts.map((chart) => [chart.id, chart]));
  const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
  const shortTime = (ms) => iso(ms).slice(0, 16).replace('T', ' ');
  const xy = (points) => points.map((p) => ({ x: p[0], y: p[1] }));

  // Time ticks as precise as the chart's span needs: seconds for one probing session,
  // minutes within days, dates beyond.
  function timeAxis(chart) {
    const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
    const span = xs.length ? Math.max(...xs) - Math.min(...xs) : 0;
    const label = (v) => (span < 3600e3 ? iso(v).slice(11, 19)
      : span < 2 * 86400e3 ? shortTime(v).slice(5) : iso(v).slice(0, 10));
    return { type: 'linear', ticks: { callback: label, maxRotation: 0, autoSkipPadding: 24 } };
  }

  function lineSets(chart, showLine) {
    return chart.series.map((s) => ({
      label: s.label,
      data: xy(s.points),
      backgroundColor: s.colour,
      borderColor: s.colour,
      borderWidth: 1.5,
      pointRadius: showLine ? 1.5 : 2.5,
      showLine: showLine,
    }));
  }

  function config(chart) {
    const common = { animation: false, responsive: true, maintainAspectRatio: false };
    switch (chart.kind) {
      case 'timeline':
        return {
          type: 'scatter',
          data: { datasets: lineSets(chart, false) },
          options: Object.assign({}, common, {
            scales: {
              x: timeAxis(chart),
              y: {
                type: 'linear', reverse: true, min: -0.5, max: chart.rows.length - 0.5,
                afterBuildTicks: (axis) => {
                  axis.ticks = chart.rows.map((_, i) => ({ value: i }));
                },
                ticks: { autoSkip: false, font: { size: 9 }, callback: (v) => chart.rows[v] },
              },
            },
            plugins: {
              tooltip: {
                callbacks: {
                  label: (ctx) => chart.rows[ctx.parsed.y] + ' at ' + iso(ctx.parsed.x),
                },
              },
            },
          }),
        };
      case 'lookups':
        return {
          type: 'scatter',
          data: { datasets: lineSets(chart, true) },
          options: Object.assign({}, common, {
            scales: {
              x: { type: 'linear', ticks: { precision: 0 }, title: { display: true, text: 'lookups' } },
              y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: chart.y } },
            },
          }),
        };
      case 'time':
        return {
          type: 'scatter',
          data: { datasets: lineSets(chart, true) },
          options: Object.assign({}, common, {
            scales: { x: timeAxis(chart), y: { title: { display: true, text: chart.y } } },
          }),
        };
      case 'time-bar': {
        const labels = chart.series.length ? chart.series[0].points.map((p) => shortTime(p[0])) : [];
        return {
          type: 'bar',
          data: {
            labels: labels,
            datasets: chart.series.map((s) => ({
              label: s.label, data: s.points.map((p) => p[1]), backgroundColor: s.colour,
            })),
          },
          options: Object.assign({}, common, {
            scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: chart.y } } },
          }),
        };
      }
      case 'bar':
        return {
          type: 'bar',
          data: {
            labels: chart.bars.map((b) => b[0]),
            datasets: [{ label: chart.y, data: chart.bars.map((b) => b[1]), backgroundColor: chart.colours }],
          },
          options: Object.assign({}, common, { plugins: { legend: { display: false } } }),
        };
      default:
        return null;
    }
  }

  function pointCount(chart) {
    if (chart.kind === 'bar') {
      return chart.bars.length;
    }
    return chart.series.reduce((sum, s) => sum + s.points.length, 0);
  }

  for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
    const figure = canvas.closest('figure');
    const chart = byId.get(canvas.dataset.chart);
    const settings = chart && config(chart);
    if (!settings || pointCount(chart) === 0) {
      figure.dataset.drawnPoints = '0';
      figure.classList.add('empty');
      canvas.replaceWith(document.createTextNode('no data in this window'));
      continue;
    }
    if (chart.kind === 'timeline') {
      canvas.parentElement.style.height = Math.max(160, chart.rows.length * 11 + 70) + 'px';
    }
    const drawn = new Chart(canvas, settings);
    let points = 0;
    for (let i = 0; i < drawn.data.datasets.length; i++) {
      points += drawn.getDatasetMeta(i).data.length;
    }
    figure.dataset.drawnPoints = String(points);
    figure.classList.add('drawn');
  }
})();
