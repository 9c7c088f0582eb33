/**
 * The open variances of each type after each checked day, drawn by uPlot (loaded lazily: the
 * Overview's first load does not carry it). The same figures are in a table below the chart,
 * which is the chart's text alternative.
 */
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { TrendData } from './trend-data';

/** One colour per type, chosen for contrast on each theme's background; dashes tell them apart without colour. */
const PALETTES = {
  light: ['#0b5cad', '#c2410c', '#15803d', '#b91c1c', '#7e22ce', '#8a6100', '#0e7490'],
  dark: ['#4493f8', '#fb923c', '#4ade80', '#f87171', '#c084fc', '#facc15', '#22d3ee'],
} as const;
const DASHES: readonly (number[] | undefined)[] = [undefined, [8, 4], [2, 3], [10, 3, 2, 3], [4, 4], [12, 6], [1, 6]];

const DARK = '(prefers-color-scheme: dark)';

function useDarkScheme(): boolean {
  const [dark, setDark] = useState(() => window.matchMedia(DARK).matches);
  useEffect(() => {
    const query = window.matchMedia(DARK);
    const onChange = () => setDark(query.matches);
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);
  return dark;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Midnight UTC of a `YYYY-MM-DD`, in seconds (uPlot's time scale). */
const toSeconds = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

const count = new Intl.NumberFormat();

export default function TrendChart({ data }: { readonly data: TrendData }) {
  const box = useRef<HTMLDivElement>(null);
  const dark = useDarkScheme();
  const palette = dark ? PALETTES.dark : PALETTES.light;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = { stroke: cssVar('--color-muted'), grid: { stroke: cssVar('--color-border'), width: 1 }, ticks: { stroke: cssVar('--color-border'), width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 280,
      // Dates are calendar days: show them as such, whatever the reader's zone.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
      axes: [axis, { ...axis, size: 56 }],
      cursor: { drag: { x: false, y: false } },
      series: [
        // uPlot passes null while no day is pointed at, whatever its types say.
        { label: 'Day', value: (_u, ts: number | null) => (ts === null ? '—' : new Date(ts * 1000).toISOString().slice(0, 10)) },
        ...data.series.map((s, i) => ({
          label: s.type,
          stroke: palette[i % palette.length],
          width: 2,
          dash: DASHES[i % DASHES.length],
          spanGaps: true,
          points: { show: true, size: 5 },
          value: (_u: uPlot, v: number | null) => (v == null ? '—' : count.format(v)),
        })),
      ],
    };
    const aligned: uPlot.AlignedData = [data.days.map(toSeconds), ...data.series.map((s) => s.values.map((v) => v))];
    const plot = new uPlot(opts, aligned, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 280 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [data, palette]);

  return (
    <>
      {/* The canvas says nothing to a screen reader; the table below has every figure. */}
      <div ref={box} className="trend-chart" role="img" aria-label={`Line chart of open variances by type over ${data.days.length} days; the figures are in the table “Figures of the chart”.`} />
      <details className="trend-figures">
        <summary>Figures of the chart</summary>
        <table>
          <caption>Open variances after each checked day, by type</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              {data.series.map((s) => (
                <th key={s.type} scope="col" className="num">
                  {s.type}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.checkedDays.map((day) => {
              const i = data.days.indexOf(day);
              return (
                <tr key={day}>
                  <th scope="row" className="nowrap">
                    {day}
                  </th>
                  {data.series.map((s) => (
                    <td key={s.type} className="num">
                      {count.format(s.values[i] ?? 0)}
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      </details>
    </>
  );
}
