import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { ApiError, api, describeError, enc, type Job } from './api.js';
import { fmtRate, usePoll } from './util.js';

export const jobActive = (j: Job) => j.state === 'running' || j.state === 'paused';

/** The connector's jobs; `undefined` when the worker has no jobs for it (404). */
export async function loadJobs(name: string): Promise<Job[] | undefined> {
  try {
    return await api<Job[]>('GET', `/connectors/${enc(name)}/jobs`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

export function fmtEta(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '-';
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${t % 60} s`;
  return `${Math.floor(t / 3600)} h ${Math.floor((t % 3600) / 60)} min`;
}

export function ProgressBar(props: { job: Job }) {
  const { total, done } = props.job.chunks;
  const pct = props.job.state === 'completed' ? 100 : total > 0 ? Math.min(100, (100 * done) / total) : 0;
  // Chunks of a round often run side by side and end together: between them, the worker's ETA gives an
  // estimate of the rows still to come, drawn lighter behind the chunks done.
  const { rows, rowsPerSecond: rate, etaSeconds: eta } = props.job;
  const est = jobActive(props.job) && rate && rate > 0 && eta !== null && eta !== undefined && Number.isFinite(eta) ? (100 * rows) / (rows + rate * eta) : undefined;
  return html`<div class=${`progress ${props.job.state}`} role="progressbar" aria-valuemin="0" aria-valuemax=${total} aria-valuenow=${done} data-testid="job-progress">
    ${est !== undefined && html`<div class="bar est" style=${`width: ${Math.max(pct, est).toFixed(1)}%`} data-testid="job-estimate"></div>`}
    <div class="bar" style=${`width: ${pct.toFixed(1)}%`}></div>
    <span class="label">${done}/${total} chunks${est !== undefined ? ` · ~${Math.round(Math.max(pct, est))}%` : ''}</span>
  </div>`;
}

/** A connector's chunked jobs (snapshots, backfills) with live progress, and pause/resume/cancel. */
export function JobsPanel(props: { name: string; onNotice: (n: { kind: 'ok' | 'error'; text: string }) => void }) {
  const name = props.name;
  const jobs = usePoll<Job[] | undefined>(() => loadJobs(name), 1000, [name]);
  const [busy, setBusy] = useState<string | undefined>();
  // Shown once the connector has had a job (snapshots, backfills); most connectors never have one.
  if (!jobs.error && (jobs.data === undefined || jobs.data.length === 0)) return null;
  const act = async (job: Job, what: 'pause' | 'resume' | 'cancel') => {
    if (what === 'cancel' && !confirm(`Cancel job ${job.id}? Chunks not yet done will not run.`)) return;
    setBusy(job.id);
    try {
      await api('POST', `/connectors/${enc(name)}/jobs/${enc(job.id)}/${what}`);
      props.onNotice({ kind: 'ok', text: `Job ${job.id}: ${what} requested` });
    } catch (err) {
      props.onNotice({ kind: 'error', text: `Job ${what}: ${describeError(err)}` });
    }
    setBusy(undefined);
    await jobs.reload();
  };
  const list = jobs.data ?? [];
  return html`
    <h2>Jobs</h2>
    ${jobs.error && html`<p class="error">${jobs.error}</p>`}
    <table class="list jobs" data-testid="jobs">
      <thead><tr><th>Job</th><th>Work</th><th>State</th><th class="progress-col">Progress</th><th class="num">Rows</th><th class="num">Rows/s</th><th class="num">ETA</th><th></th></tr></thead>
      <tbody>
        ${[...list].reverse().map(
          (j) => html`<tr data-job=${j.id} class=${j.state === 'failed' ? 'failed-row' : ''}>
              <td><code>${j.id}</code></td>
              <td>${j.work}</td>
              <td><span class=${`badge job-${j.state}`} data-testid="job-state">${j.state}</span></td>
              <td><${ProgressBar} job=${j} />${(j.chunks.failed ?? 0) > 0 && html`<span class="failed-count">${j.chunks.failed} chunk(s) failed</span>`}</td>
              <td class="num" data-testid="job-rows">${j.rows}</td>
              <td class="num" data-testid="job-rate">${fmtRate(j.rowsPerSecond)}</td>
              <td class="num" data-testid="job-eta">${jobActive(j) ? fmtEta(j.etaSeconds) : '-'}</td>
              <td class="job-actions">
                ${j.state === 'running' && html`<button disabled=${busy === j.id} onClick=${() => act(j, 'pause')} data-testid="job-pause">Pause</button>`}
                ${j.state === 'paused' && html`<button disabled=${busy === j.id} onClick=${() => act(j, 'resume')} data-testid="job-resume">Resume</button>`}
                ${jobActive(j) && html`<button class="danger" disabled=${busy === j.id} onClick=${() => act(j, 'cancel')} data-testid="job-cancel">Cancel</button>`}
              </td>
            </tr>
            ${j.error && html`<tr class="trace-row"><td colspan="8"><pre class="trace" data-testid="job-error">${j.error}</pre></td></tr>`}`,
        )}
      </tbody>
    </table>
  `;
}
