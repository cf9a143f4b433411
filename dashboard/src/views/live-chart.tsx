// One uPlot chart of the last 100 s: built when its set of lines changes, otherwise fed new data in place.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import { chartShapeKey, type ChartData, type ChartUnit } from '../data/charts.js';
import { formatBytes, formatClock, formatCompact, formatNumber } from '../data/format.js';
import type { ChartTheme } from '../use-theme.js';

const HEIGHT = 170;

function formatValue(unit: ChartUnit, v: number): string {
  if (unit === 'bytes') return formatBytes(v);
  if (unit === 'ms') return `${formatNumber(v)} ms`;
  return formatNumber(v);
}

function axisValue(unit: ChartUnit, v: number): string {
  if (unit === 'bytes') {
    const [value, suffix] = formatBytes(v).split(' ');
    return `${Number(value)} ${suffix ?? ''}`;
  }
  return formatCompact(v);
}

/** Tick steps for byte axes: 1, 2, 5, 10, 20, 50, 100, 200, 500 of B, KiB, MiB, GiB, so labels stay round. */
const BYTE_INCRS = [0, 1, 2, 3].flatMap((k) => [1, 2, 5, 10, 20, 50, 100, 200, 500].map((m) => m * 1024 ** k));
/** Tick steps for the time axis, in seconds. */
const TIME_STEPS = [1, 2, 5, 10, 20, 30, 60];

/** Ticks counted back from the newest sample (`now`, -10s, -20s, ...), as many as fit one per 55 px. */
function relativeSplits(u: uPlot): number[] {
  const xs = u.data[0];
  const newest = xs[xs.length - 1];
  const oldest = xs[0];
  if (newest === undefined || oldest === undefined) return [];
  const span = Math.max(1, newest - oldest);
  const fit = Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / 55));
  const step = TIME_STEPS.find((s) => span / s <= fit) ?? 60;
  const ticks: number[] = [];
  for (let t = newest; t >= oldest; t -= step) ticks.unshift(t);
  return ticks;
}

/** Labels the x axis relative to the newest sample: `-60s`, `-30s`, `now`. */
function relativeTime(u: uPlot, splits: number[]): string[] {
  const xs = u.data[0];
  const newest = xs[xs.length - 1] ?? 0;
  return splits.map((v) => (v === newest ? 'now' : `${Math.round(v - newest)}s`));
}

function toAligned(chart: ChartData): uPlot.AlignedData {
  return [chart.x, ...chart.lines.map((l) => l.values)] as uPlot.AlignedData;
}

/** Writes the values under the cursor into the readout line (outside React: it changes on every mouse move). */
function showReadout(u: uPlot, chart: ChartData, readout: HTMLElement | null): void {
  if (readout === null) return;
  const idx = u.cursor.idx;
  if (idx === null || idx === undefined) {
    readout.textContent = '';
    return;
  }
  const t = u.data[0][idx];
  const parts = chart.lines.map((line, i) => {
    const v = u.data[i + 1]?.[idx];
    return `${line.label} ${v === null || v === undefined ? '–' : formatValue(chart.spec.unit, v)}`;
  });
  readout.textContent = `${t === undefined ? '' : formatClock(t * 1000)} · ${parts.join(' · ')}`;
}

function makeOptions(chart: ChartData, theme: ChartTheme, width: number, readout: { current: HTMLElement | null }): uPlot.Options {
  const unit = chart.spec.unit;
  const axis = { stroke: theme.muted, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid, width: 1 } };
  return {
    width,
    height: HEIGHT,
    // One shared legend sits above the charts (the colours match the servers table); hover values go to the readout.
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    hooks: { setCursor: [(u) => showReadout(u, chart, readout.current)] },
    scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { ...axis, splits: relativeSplits, values: relativeTime },
      {
        ...axis,
        size: 64,
        ...(unit === 'bytes' ? { incrs: BYTE_INCRS } : {}),
        values: (_u, splits) => splits.map((v) => axisValue(unit, v)),
      },
    ],
    series: [
      {},
      ...chart.lines.map((line) => ({
        label: line.label,
        stroke: line.fleet ? theme.fleet : (line.color ?? theme.fleet),
        width: line.fleet ? 2.5 : 1.5,
        dash: line.fleet && chart.lines.length > 1 ? [6, 3] : undefined,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '–' : formatValue(unit, v)),
      })),
    ],
  };
}

export function LiveChart({ chart, theme }: { chart: ChartData; theme: ChartTheme }) {
  const host = useRef<HTMLDivElement>(null);
  const readout = useRef<HTMLParagraphElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(chart);
  latest.current = chart;
  const shape = `${chartShapeKey(chart)}|${theme.scheme}`;

  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    const u = new uPlot(makeOptions(latest.current, theme, Math.max(200, el.clientWidth), readout), toAligned(latest.current), el);
    plot.current = u;
    const resize = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (width !== u.width) u.setSize({ width, height: HEIGHT });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its lines or the theme change; data updates go through setData below.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(toAligned(chart));
  }, [chart]);

  const main = chart.lines[0];
  const now = main?.values[main.values.length - 1];
  const newest = chart.x[chart.x.length - 1];
  return (
    <figure className="chart" data-chart={chart.spec.key} data-last-ts={newest ?? ''} data-points={chart.x.length}>
      <figcaption>
        <span className="chart-title">{chart.spec.title}</span>
        <span className="chart-now" aria-label={`${main?.label ?? ''} now`}>
          {now === null || now === undefined ? '–' : formatValue(chart.spec.unit, now)}
        </span>
      </figcaption>
      <div ref={host} className="chart-plot" role="img" aria-label={`${chart.spec.title}, last ${chart.x.length} seconds`} />
      <p ref={readout} className="chart-readout" aria-hidden="true" />
    </figure>
  );
}
