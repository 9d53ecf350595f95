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

  // Intraday candles (epoch-second times, UTC): pre/post-market bars paler, the firing bar marked.
  const intraEl = document.getElementById('chart-intraday');
  if (intraEl && window.LightweightCharts) {
    const LC = window.LightweightCharts;
    const raw = JSON.parse(intraEl.getAttribute('data-bars') || '[]');
    const fired = Number(intraEl.getAttribute('data-fired'));
    const pale = (b, up, down) => (b.session === 'regular' ? (b.close >= b.open ? up : down) : '#9ca3af');
    const bars = raw.map((b) => ({
      time: b.time,
      open: b.open,
      high: b.high,
      low: b.low,
      close: b.close,
      color: pale(b, '#166534', '#b91c1c'),
      wickColor: pale(b, '#166534', '#b91c1c'),
    }));
    const chart = LC.createChart(intraEl, {
      autoSize: true,
      layout: { background: { color: '#ffffff' }, textColor: '#1a1a1a' },
      grid: { vertLines: { color: '#e5e7eb' }, horzLines: { color: '#e5e7eb' } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    const series = chart.addSeries(LC.CandlestickSeries, { borderVisible: false });
    series.setData(bars);
    let at = bars[0];
    for (const b of bars) if (b.time <= fired) at = b;
    if (at) {
      LC.createSeriesMarkers(series, [
        { time: at.time, position: 'aboveBar', color: '#92400e', shape: 'arrowDown', text: 'fired' },
      ]);
    }
    chart.timeScale().fitContent();
    intraEl.setAttribute('data-ready', 'true');
    intraEl.setAttribute('data-marker', String(at ? at.time : ''));
  }
})();
