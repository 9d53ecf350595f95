// The alert page's price chart (lightweight-charts, served from /assets). Loaded after the library.
(() => {
  // Price chart on the alert page: candles, and a marker where the rule fired.
  const chartEl = document.getElementById('chart');
  if (chartEl && window.LightweightCharts) {
    const LC = window.LightweightCharts;
    const bars = JSON.parse(chartEl.getAttribute('data-bars') || '[]');
    const firedDay = chartEl.getAttribute('data-fired');
    const chart = LC.createChart(chartEl, {
      autoSize: true,
      layout: { background: { color: '#ffffff' }, textColor: '#1a1a1a' },
      grid: { vertLines: { color: '#e5e7eb' }, horzLines: { color: '#e5e7eb' } },
    });
    const series = chart.addSeries(LC.CandlestickSeries, {
      upColor: '#166534',
      downColor: '#b91c1c',
      borderVisible: false,
      wickUpColor: '#166534',
      wickDownColor: '#b91c1c',
    });
    series.setData(bars);
    const at = bars.find((b) => b.time >= firedDay) || bars[bars.length - 1];
    if (at) {
      LC.createSeriesMarkers(series, [
        { time: at.time, position: 'aboveBar', color: '#92400e', shape: 'arrowDown', text: 'fired' },
      ]);
    }
    chart.timeScale().fitContent();
    chartEl.setAttribute('data-ready', 'true');
  }
})();
