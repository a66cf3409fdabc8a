/** One uPlot chart of a value per UTC day, a line per group; it follows its box's width. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const COLORS = ['#1f6feb', '#c2410c', '#15803d', '#9333ea', '#b91c1c', '#0e7490', '#a16207', '#4b5563'];

export interface ChartSeries {
  label: string;
  values: number[];
}

export function UsageChart(props: { title: string; days: string[]; series: ChartSeries[]; format: (value: number) => string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (element === null || props.days.length === 0) return;
    const seconds = props.days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
    const options: uPlot.Options = {
      title: props.title,
      width: Math.max(element.clientWidth, 280),
      height: 240,
      tzDate: (timestamp) => uPlot.tzDate(new Date(timestamp * 1000), 'Etc/UTC'),
      scales: { x: { time: true } },
      axes: [{}, { values: (_chart, ticks) => ticks.map(props.format), size: 80 }],
      series: [
        { label: 'Day (UTC)', value: (_chart, value) => (value === null ? '—' : new Date(value * 1000).toISOString().slice(0, 10)) },
        ...props.series.map((series, index) => ({
          label: series.label,
          stroke: COLORS[index % COLORS.length],
          width: 2,
          points: { show: true },
          value: (_chart: uPlot, value: number | null) => (value === null ? '—' : props.format(value)),
        })),
      ],
    };
    const chart = new uPlot(options, [seconds, ...props.series.map((series) => series.values)], element);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 280), height: 240 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [props.title, props.days, props.series, props.format]);
  return <div class="chart" ref={box} role="img" aria-label={`${props.title}: a line per group over the chosen days; the table below holds the numbers`} />;
}
