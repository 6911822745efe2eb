import type { Client } from '../client.ts';

/**
 * A lightweight reading of the Core Web Vitals (no dependency; the `web-vitals` library is ~2 KB gz on its
 * own): LCP (last candidate), CLS (largest 5 s session window of shifts without recent input), INP (the
 * slowest interaction; the official metric takes the 98th percentile, which only differs beyond 50
 * interactions), FCP and TTFB. Sent once, as a `Web Vitals` event, when the page first hides. Chromium only
 * for LCP/CLS/INP: other browsers just omit them.
 */
export function captureWebVitals(client: Client): void {
  const v: Record<string, number> = {};
  const observe = (type: string, fn: (e: PerformanceEntry & Record<string, number>) => void, extra = {}) => {
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) fn(e as PerformanceEntry & Record<string, number>);
      }).observe({ type, buffered: true, ...extra });
    } catch {}
  };
  let windowValue = 0;
  let windowStart = 0;
  let prev = 0;
  observe('largest-contentful-paint', (e) => {
    v.lcp = Math.round(e.startTime);
  });
  observe('layout-shift', (e) => {
    if (e.hadRecentInput) return;
    if (e.startTime - prev > 1000 || e.startTime - windowStart > 5000) {
      windowValue = 0;
      windowStart = e.startTime;
    }
    prev = e.startTime;
    windowValue += e.value!;
    v.cls = Math.max(v.cls ?? 0, Math.round(windowValue * 1000) / 1000);
  });
  observe(
    'event',
    (e) => {
      if (e.interactionId) v.inp = Math.max(v.inp ?? 0, e.duration);
    },
    { durationThreshold: 40 },
  );
  observe('paint', (e) => {
    if (e.name === 'first-contentful-paint') v.fcp = Math.round(e.startTime);
  });
  const nav = performance.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined;
  if (nav) v.ttfb = Math.round(nav.responseStart);
  let sent = false;
  addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'hidden' || sent) return;
    sent = true;
    client.track('Web Vitals', v);
    void client.flush();
  });
}
