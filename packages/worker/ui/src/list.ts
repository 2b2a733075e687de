import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type Info, type Status } from './api.js';
import { LiveChart } from './chart.js';
import { latest, subscribe } from './metrics.js';
import { jobActive, loadJobs } from './jobs.js';
import { StateBadge, fmtRate, usePoll } from './util.js';

type Expanded = Record<string, { status: Status; info: Info }>;

/** Every connector with its state, type, tasks (failed ones highlighted), records/s and lag; live charts below. */
export function ConnectorList() {
  const { data, error } = usePoll<Expanded>(() => api('GET', '/connectors?expand=status&expand=info'), 2000);
  const [, tick] = useState(0);
  useEffect(() => subscribe(() => tick((n) => n + 1)), []);
  const names = Object.keys(data ?? {}).sort();
  // Connectors with a running or paused chunked job (snapshot, backfill).
  const jobs = usePoll<Record<string, { running: number; paused: number }>>(
    async () => {
      const out: Record<string, { running: number; paused: number }> = {};
      await Promise.all(
        names.map(async (n) => {
          const active = ((await loadJobs(n).catch(() => undefined)) ?? []).filter(jobActive);
          if (active.length) out[n] = { running: active.filter((j) => j.state === 'running').length, paused: active.filter((j) => j.state === 'paused').length };
        }),
      );
      return out;
    },
    2000,
    [names.join('\n')],
  );
  const sinks = names.filter((n) => data![n]!.info?.type === 'sink');
  return html`
    <section>
      <div class="toolbar">
        <h1>Connectors</h1>
        <a class="button primary" href="#/new" data-testid="new-connector">New connector</a>
      </div>
      ${error && html`<p class="error">${error}</p>`}
      <table class="list" data-testid="connector-list">
        <thead>
          <tr><th>Name</th><th>Type</th><th>State</th><th>Class</th><th>Tasks</th><th class="num">Records/s</th><th class="num">Records</th><th class="num">Lag</th></tr>
        </thead>
        <tbody>
          ${names.length === 0 && data && html`<tr><td colspan="8" class="muted">No connectors yet.</td></tr>`}
          ${names.map((n) => {
            const { status, info } = data![n]!;
            const tasks = status?.tasks ?? [];
            const failed = tasks.filter((t) => t.state === 'FAILED').length;
            const m = latest(n);
            return html`<tr data-connector=${n} class=${failed || status?.connector.state === 'FAILED' ? 'failed-row' : ''}>
              <td><a href=${`#/connectors/${encodeURIComponent(n)}`}>${n}</a></td>
              <td>${info?.type}</td>
              <td><${StateBadge} state=${status?.connector.state} />${jobs.data?.[n] &&
                html`<a class=${`job-dot ${jobs.data[n].running ? '' : 'paused'}`} href=${`#/connectors/${encodeURIComponent(n)}`} data-testid="job-indicator"
                  title="chunked job in progress">${jobs.data[n].running ? 'job running' : 'job paused'}</a>`}</td>
              <td class="muted">${info?.config['connector.class']}</td>
              <td>
                ${tasks.map((t) => html`<span class=${`task-dot ${t.state.toLowerCase()}`} title=${`task ${t.id}: ${t.state}`}>${t.id}</span>`)}
                ${failed > 0 && html`<span class="failed-count" data-testid="failed-count">${failed} failed</span>`}
              </td>
              <td class="num">${fmtRate(m?.rate)}</td>
              <td class="num" data-testid="records">${m ? Math.round(m.total) : '-'}</td>
              <td class="num" data-testid="lag">${m?.lag ?? '-'}</td>
            </tr>`;
          })}
        </tbody>
      </table>
      ${names.length > 0 &&
      html`<div class="charts">
        <${LiveChart} title="Records/s" connectors=${names} metric="rate" testid="chart-rate" />
        ${sinks.length > 0 && html`<${LiveChart} title="Consumer lag (sink connectors)" connectors=${sinks} metric="lag" testid="chart-lag" />`}
      </div>`}
    </section>
  `;
}
