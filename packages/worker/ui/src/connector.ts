import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, describeError, enc, type Info, type Status } from './api.js';
import { JobsPanel } from './jobs.js';
import { LiveChart } from './chart.js';
import { latest, subscribe } from './metrics.js';
import { StateBadge, fmtRate, usePoll } from './util.js';

type Offsets = { offsets: Array<{ partition: Record<string, unknown>; offset: Record<string, unknown> | null }> };

/** One connector: state, actions, tasks with traces, metrics, offsets (editable when STOPPED), config. */
export function ConnectorPage(props: { name: string }) {
  const name = props.name;
  const base = `/connectors/${enc(name)}`;
  const status = usePoll<Status>(() => api('GET', `${base}/status`), 1500, [name]);
  const info = usePoll<Info>(() => api('GET', base), 5000, [name]);
  const offsets = usePoll<Offsets>(() => api('GET', `${base}/offsets`), 3000, [name]);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>();
  const [draft, setDraft] = useState<string | undefined>();
  const [, tick] = useState(0);
  useEffect(() => subscribe(() => tick((n) => n + 1)), []);

  const act = async (label: string, method: string, path: string, body?: unknown) => {
    try {
      const r = await api(method, path, body);
      setNotice({ kind: 'ok', text: r?.message ? `${label}: ${r.message}` : `${label}: done` });
    } catch (err) {
      setNotice({ kind: 'error', text: `${label}: ${describeError(err)}` });
    }
    await Promise.all([status.reload(), offsets.reload()]);
  };
  const remove = async () => {
    if (!confirm(`Delete connector ${name}?`)) return;
    try {
      await api('DELETE', base);
      location.hash = '#/';
    } catch (err) {
      setNotice({ kind: 'error', text: `Delete: ${describeError(err)}` });
    }
  };
  const saveOffsets = async () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(draft ?? '');
    } catch (err) {
      setNotice({ kind: 'error', text: `Offsets are not valid JSON: ${(err as Error).message}` });
      return;
    }
    await act('Save offsets', 'PATCH', `${base}/offsets`, parsed);
    setDraft(undefined);
  };

  if (status.error && !status.data) return html`<section><p class="error">${status.error}</p><a href="#/">Back</a></section>`;
  const s = status.data;
  const state = s?.connector.state;
  const stopped = state === 'STOPPED';
  const m = latest(name);
  const failedTasks = (s?.tasks ?? []).filter((t) => t.state === 'FAILED');
  return html`
    <section>
      <div class="toolbar">
        <h1><a href="#/">Connectors</a> / ${name}</h1>
        <${StateBadge} state=${state} />
      </div>
      <p class="muted">${info.data?.type} · ${info.data?.config['connector.class']} · worker ${s?.connector.worker_id}</p>
      ${notice && html`<p class=${notice.kind === 'error' ? 'error' : 'notice'} data-testid="notice">${notice.text}</p>`}
      <div class="actions">
        <button onClick=${() => act('Restart', 'POST', `${base}/restart?includeTasks=true`)} data-testid="restart">Restart</button>
        <button onClick=${() => act('Restart failed', 'POST', `${base}/restart?includeTasks=true&onlyFailed=true`)} disabled=${failedTasks.length === 0 && state !== 'FAILED'} data-testid="restart-failed">Restart failed</button>
        <button onClick=${() => act('Pause', 'PUT', `${base}/pause`)} disabled=${state === 'PAUSED' || stopped} data-testid="pause">Pause</button>
        <button onClick=${() => act('Resume', 'PUT', `${base}/resume`)} disabled=${state === 'RUNNING'} data-testid="resume">Resume</button>
        <button onClick=${() => act('Stop', 'PUT', `${base}/stop`)} disabled=${stopped} data-testid="stop">Stop</button>
        <a class="button" href=${`#/connectors/${enc(name)}/edit`} data-testid="edit">Edit</a>
        <button class="danger" onClick=${remove} data-testid="delete">Delete</button>
      </div>
      ${s?.connector.trace && html`<details open><summary class="error">Connector failure</summary><pre class="trace">${s.connector.trace}</pre></details>`}

      <h2>Throughput</h2>
      <div class="stats">
        <div><span class="stat" data-testid="records-total">${m ? Math.round(m.total) : 0}</span> records</div>
        <div><span class="stat" data-testid="records-rate">${fmtRate(m?.rate)}</span> records/s</div>
        ${info.data?.type === 'sink' && html`<div><span class="stat" data-testid="lag">${m?.lag ?? '-'}</span> lag</div>`}
      </div>
      <div class="charts">
        <${LiveChart} title="Records/s" connectors=${[name]} metric="rate" testid="chart-rate" />
        ${info.data?.type === 'sink' && html`<${LiveChart} title="Consumer lag" connectors=${[name]} metric="lag" testid="chart-lag" />`}
      </div>

      <${JobsPanel} name=${name} onNotice=${setNotice} />

      <h2>Tasks</h2>
      <table class="list" data-testid="tasks">
        <thead><tr><th>Task</th><th>State</th><th>Worker</th><th>Message</th><th></th></tr></thead>
        <tbody>
          ${(s?.tasks ?? []).length === 0 && html`<tr><td colspan="5" class="muted">No tasks${stopped ? ' (stopped)' : ''}.</td></tr>`}
          ${(s?.tasks ?? []).map(
            (t) => html`<tr class=${t.state === 'FAILED' ? 'failed-row' : ''} data-task=${t.id}>
                <td>${t.id}</td>
                <td><${StateBadge} state=${t.state} /></td>
                <td class="muted">${t.worker_id}</td>
                <td>${t.message ?? ''}</td>
                <td><button onClick=${() => act(`Restart task ${t.id}`, 'POST', `${base}/tasks/${t.id}/restart`)} data-testid=${`restart-task-${t.id}`}>Restart task</button></td>
              </tr>
              ${t.trace &&
              (t.state === 'FAILED'
                ? html`<tr class="trace-row"><td colspan="5"><pre class="trace" data-testid=${`trace-${t.id}`}>${t.trace}</pre></td></tr>`
                : html`<tr class="trace-row"><td colspan="5"><details data-testid=${`last-trace-${t.id}`}><summary class="muted">Last failure</summary><pre class="trace">${t.trace}</pre></details></td></tr>`)}`,
          )}
        </tbody>
      </table>

      <h2>Offsets</h2>
      ${!stopped && html`<p class="muted">Stop the connector to edit or reset its offsets.</p>`}
      <table class="list" data-testid="offsets">
        <thead><tr><th>Partition</th><th>Offset</th></tr></thead>
        <tbody>
          ${(offsets.data?.offsets ?? []).length === 0 && html`<tr><td colspan="2" class="muted" data-testid="no-offsets">No offsets.</td></tr>`}
          ${(offsets.data?.offsets ?? []).map((o) => html`<tr><td><code>${JSON.stringify(o.partition)}</code></td><td><code>${JSON.stringify(o.offset)}</code></td></tr>`)}
        </tbody>
      </table>
      ${stopped &&
      html`<div class="offset-edit">
        ${draft === undefined
          ? html`<button onClick=${() => setDraft(JSON.stringify(offsets.data ?? { offsets: [] }, null, 2))} data-testid="edit-offsets">Edit offsets</button>`
          : html`<textarea rows="8" value=${draft} onInput=${(e: Event) => setDraft((e.target as HTMLTextAreaElement).value)} data-testid="offsets-json"></textarea>
              <button class="primary" onClick=${saveOffsets} data-testid="save-offsets">Save offsets</button>
              <button onClick=${() => setDraft(undefined)}>Cancel</button>`}
        <button class="danger" onClick=${() => confirm(`Reset every offset of ${name}?`) && act('Reset offsets', 'DELETE', `${base}/offsets`)} data-testid="reset-offsets">Reset offsets</button>
      </div>`}

      <h2>Config</h2>
      <table class="list config">
        <tbody>
          ${Object.entries(info.data?.config ?? {})
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, v]) => html`<tr><td><code>${k}</code></td><td><code>${v}</code></td></tr>`)}
        </tbody>
      </table>
    </section>
  `;
}
