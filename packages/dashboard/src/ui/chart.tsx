import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useTheme } from './theme.ts';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
}

interface ChartProps {
  /** Unix seconds, one per point. */
  x: number[];
  series: ChartSeries[];
  height?: number;
  kind?: 'line' | 'bars';
  /** Shown to screen readers; the numbers are also in a table beside every chart. */
  label: string;
  /** Times on the x axis are bucket labels in this zone; uPlot must not shift them to the browser's. */
  utcAxis?: boolean;
  yLabel?: string;
  /** Counts: no 0.2-event ticks on the y axis. */
  integer?: boolean;
}

const INTEGER_STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7,
];

export const PALETTE = [
  '#6366f1',
  '#f59e0b',
  '#10b981',
  '#ef4444',
  '#06b6d4',
  '#a855f7',
  '#84cc16',
  '#ec4899',
];

/**
 * A uPlot chart that follows its container's width and the theme. Data updates reuse the instance
 * (setData), so the live chart redraws every second without re-creating the canvas.
 */
export function Chart({
  x,
  series,
  height = 260,
  kind = 'line',
  label,
  utcAxis = false,
  yLabel,
  integer = true,
}: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useTheme();
  const shape = `${series.map((s) => s.label).join('\u0000')}|${kind}|${theme}|${height}`;

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const styles = getComputedStyle(el);
    const axisColor = styles.getPropertyValue('--muted').trim() || '#888';
    const gridColor = styles.getPropertyValue('--grid').trim() || '#8882';
    const axis = { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } };
    const bars = kind === 'bars' ? uPlot.paths.bars?.({ size: [0.8, 12] }) : undefined;
    const options: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      ...(utcAxis ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') } : {}),
      cursor: { drag: { x: false, y: false } },
      legend: { show: series.length > 1 },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        axis,
        {
          ...axis,
          size: 56,
          ...(integer ? { incrs: INTEGER_STEPS } : {}),
          ...(yLabel === undefined ? {} : { label: yLabel }),
        },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          width: 2,
          fill: series.length === 1 ? `${PALETTE[i % PALETTE.length]}33` : undefined,
          points: { show: x.length < 60 },
          ...(bars === undefined ? {} : { paths: bars }),
        })),
      ],
    };
    const chart = new uPlot(options, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // Re-created only when the shape changes; values flow in through the effect below.
  }, [shape, integer]);

  useEffect(() => {
    plot.current?.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [x, series]);

  return <div class="chart" ref={box} role="img" aria-label={label} />;
}
