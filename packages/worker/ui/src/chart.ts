import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { history, subscribe } from './metrics.js';

const COLORS = ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563'];

/** A connector keeps its colour whatever else is listed. */
function colorOf(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) | 0;
  return COLORS[Math.abs(h) % COLORS.length]!;
}

/** A live time-series chart of one metric (records/s or lag) for the given connectors. */
export function LiveChart(props: { title: string; connectors: string[]; metric: 'rate' | 'lag'; testid?: string }) {
  const el = useRef<HTMLDivElement>(null);
  const key = props.connectors.join('\u0000');
  useEffect(() => {
    if (!el.current) return;
    const names = props.connectors;
    const data = (): uPlot.AlignedData => [
      history.map((s) => s.t),
      ...names.map((n) => history.map((s) => {
        const m = s.byConnector.get(n);
        return m ? (props.metric === 'rate' ? m.rate : m.lag) : null;
      })),
    ] as uPlot.AlignedData;
    const width = () => Math.max(300, el.current!.clientWidth);
    const plot = new uPlot(
      {
        title: props.title,
        width: width(),
        height: 200,
        series: [{}, ...names.map((n) => ({ label: n, stroke: colorOf(n), width: 2, spanGaps: true }))],
        axes: [
          { space: 80, values: (_u: uPlot, ticks: number[]) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })) },
          { size: 60 },
        ],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1) * 1.1] } },
      },
      data(),
      el.current,
    );
    const off = subscribe(() => plot.setData(data()));
    const onResize = () => plot.setSize({ width: width(), height: 200 });
    window.addEventListener('resize', onResize);
    return () => {
      off();
      window.removeEventListener('resize', onResize);
      plot.destroy();
    };
  }, [key, props.metric]);
  return html`<div class="chart" data-testid=${props.testid} ref=${el}></div>`;
}
