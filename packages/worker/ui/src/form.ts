import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, enc, type ConfigKey , describeError } from './api.js';

type Infos = { error_count: number; configs: Array<{ definition: ConfigKey; value: { name: string; errors: string[]; recommended_values: string[] } }> };
const HIDDEN = '[hidden]';
const FIXED = new Set(['name', 'connector.class']);

function parseExtra(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const i = t.indexOf('=');
    if (i > 0) out[t.slice(0, i).trim()] = t.slice(i + 1).trim();
  }
  return out;
}

/**
 * Create or edit a connector with a form generated from the plugin's config
 * definition: grouped fields with their docs and defaults, password fields
 * masked, validated through config/validate as the user types.
 */
export function ConnectorForm(props: { name?: string }) {
  const editing = props.name !== undefined;
  const [plugins, setPlugins] = useState<Array<{ class: string; type: string }>>([]);
  const [cls, setCls] = useState('');
  const [name, setName] = useState(props.name ?? '');
  const [defs, setDefs] = useState<ConfigKey[]>([]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [extra, setExtra] = useState('');
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [infos, setInfos] = useState<Infos | undefined>();
  const [error, setError] = useState<string | undefined>();
  // A refused or failed validation request has its own line: its answer may come after a save's and must not replace it.
  const [validationError, setValidationError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const seq = useRef(0);

  useEffect(() => {
    void api('GET', '/connector-plugins').then(setPlugins, (e: Error) => setError(e.message));
    if (editing) {
      void api<Record<string, string>>('GET', `/connectors/${enc(props.name!)}/config`).then(
        (cfg) => {
          setCls(cfg['connector.class'] ?? '');
          const { name: _n, 'connector.class': _c, ...rest } = cfg;
          setValues(rest);
        },
        (e: Error) => setError(e.message),
      );
    }
  }, [props.name]);

  useEffect(() => {
    if (!cls) return;
    void api<ConfigKey[]>('GET', `/connector-plugins/${enc(cls)}/config`).then(
      (d) => {
        setDefs(d);
        if (editing) {
          // Options the definition does not declare (transforms, converter settings) go to the free-form box.
          const known = new Set(d.map((x) => x.name));
          setValues((v) => {
            const own: Record<string, string> = {};
            const rest: string[] = [];
            for (const [k, x] of Object.entries(v)) (known.has(k) ? (own[k] = x) : rest.push(`${k}=${x}`));
            setExtra((e) => (e ? e : rest.join('\n')));
            return own;
          });
        }
      },
      (e: Error) => setError(e.message),
    );
  }, [cls]);

  const config = useMemo(() => {
    const c: Record<string, string> = { 'connector.class': cls };
    for (const [k, v] of Object.entries(values)) if (v !== '') c[k] = v;
    return { ...c, ...parseExtra(extra) };
  }, [cls, values, extra]);

  // Validation as you type (debounced); only the latest answer is kept.
  useEffect(() => {
    if (!cls) return;
    const mine = ++seq.current;
    const t = setTimeout(() => {
      void api<Infos>('PUT', `/connector-plugins/${enc(cls)}/config/validate`, { ...config, name: name || 'unnamed' }).then(
        (r) => {
          if (mine !== seq.current) return;
          setInfos(r);
          setValidationError(undefined);
        },
        (e: unknown) => mine === seq.current && setValidationError(describeError(e)),
      );
    }, 250);
    return () => clearTimeout(t);
  }, [config, name]);

  const errorsOf = (key: string) => infos?.configs.find((c) => c.value.name === key)?.value.errors ?? [];
  const recommended = (key: string) => infos?.configs.find((c) => c.value.name === key)?.value.recommended_values ?? [];
  const shown = (key: string) => submitted || touched.has(key);
  const set = (key: string, v: string) => {
    setValues((old) => ({ ...old, [key]: v }));
    setTouched((old) => new Set(old).add(key));
  };

  const groups = useMemo(() => {
    const m = new Map<string, ConfigKey[]>();
    for (const d of [...defs].sort((a, b) => a.order_in_group - b.order_in_group)) {
      if (FIXED.has(d.name)) continue;
      const g = d.group ?? 'General';
      if (!m.has(g)) m.set(g, []);
      m.get(g)!.push(d);
    }
    // The plugin's own options first, the common ones after.
    const common = ['Common', 'Transforms', 'Predicates', 'Error Handling', 'Error handling'];
    return [...m.entries()].sort(([a], [b]) => Number(common.includes(a)) - Number(common.includes(b)));
  }, [defs]);
  const known = new Set(defs.map((d) => d.name));
  const otherErrors = (infos?.configs ?? []).filter((c) => !known.has(c.value.name) && c.value.errors.length > 0);

  const submit = async (e: Event) => {
    e.preventDefault();
    setSubmitted(true);
    setError(undefined);
    if (!name.trim()) {
      setError('A connector needs a name.');
      return;
    }
    setBusy(true);
    try {
      if (editing) await api('PUT', `/connectors/${enc(name)}/config`, config);
      else await api('POST', '/connectors', { name: name.trim(), config });
      location.hash = `#/connectors/${enc(name.trim())}`;
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const field = (d: ConfigKey) => {
    const v = values[d.name] ?? '';
    const errs = shown(d.name) ? errorsOf(d.name) : [];
    const rec = recommended(d.name);
    const id = `f-${d.name}`;
    const onInput = (ev: Event) => set(d.name, (ev.target as HTMLInputElement).value);
    let input;
    if (d.type === 'PASSWORD') {
      input = html`<input id=${id} name=${d.name} type="password" autocomplete="new-password" value=${v === HIDDEN ? '' : v}
        placeholder=${v === HIDDEN ? '(unchanged)' : (d.default_value ?? '')} onInput=${onInput} />`;
    } else if (d.type === 'BOOLEAN' || rec.length > 0) {
      const options = d.type === 'BOOLEAN' ? ['true', 'false'] : rec;
      input = html`<select id=${id} name=${d.name} value=${v} onChange=${onInput}>
        <option value="">${d.default_value !== null ? `default (${d.default_value})` : '—'}</option>
        ${options.map((o) => html`<option value=${o}>${o}</option>`)}
      </select>`;
    } else {
      input = html`<input id=${id} name=${d.name} type="text" value=${v} placeholder=${d.default_value ?? ''} onInput=${onInput} />`;
    }
    return html`<div class=${`field${errs.length ? ' invalid' : ''}`} data-field=${d.name}>
      <label for=${id}>${d.display_name || d.name}${d.required ? html`<span class="req">*</span>` : ''} <code class="muted">${d.name}</code></label>
      ${input}
      ${errs.map((m) => html`<div class="field-error" data-testid="field-error">${m}</div>`)}
      <div class="doc">${d.documentation}${d.default_value !== null && d.default_value !== '' ? ` Default: ${d.default_value}.` : ''}</div>
    </div>`;
  };

  return html`
    <section>
      <div class="toolbar"><h1><a href="#/">Connectors</a> / ${editing ? `Edit ${props.name}` : 'New connector'}</h1></div>
      <form onSubmit=${submit} data-testid="connector-form">
        <div class="field">
          <label for="f-class">Plugin<span class="req">*</span></label>
          <select id="f-class" name="connector.class" value=${cls} disabled=${editing} onChange=${(e: Event) => {
            setCls((e.target as HTMLSelectElement).value);
            setValues({});
            setTouched(new Set());
            setInfos(undefined);
          }}>
            <option value="">Choose a connector plugin…</option>
            ${plugins.map((p) => html`<option value=${p.class}>${p.class} (${p.type})</option>`)}
          </select>
        </div>
        <div class="field" data-field="name">
          <label for="f-name">Name<span class="req">*</span></label>
          <input id="f-name" name="name" type="text" value=${name} disabled=${editing} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} />
        </div>
        ${groups.map(
          ([g, list]) => html`<fieldset>
            <legend>${g}</legend>
            ${list.map(field)}
          </fieldset>`,
        )}
        ${cls &&
        html`<fieldset>
          <legend>Other options</legend>
          <div class="field" data-field="extra">
            <label for="f-extra">One <code>key=value</code> per line (transforms, converter settings, …)</label>
            <textarea id="f-extra" rows="5" value=${extra} onInput=${(e: Event) => setExtra((e.target as HTMLTextAreaElement).value)}></textarea>
            ${otherErrors.map((c) => html`<div class="field-error" data-testid="field-error">${c.value.name}: ${c.value.errors.join('; ')}</div>`)}
          </div>
        </fieldset>`}
        ${validationError && html`<p class="error" data-testid="validation-error">Validation: ${validationError}</p>`}
        ${error && html`<p class="error" data-testid="form-error">${error}</p>`}
        <div class="actions">
          <button class="primary" type="submit" disabled=${!cls || busy} data-testid="submit">${editing ? 'Save' : 'Create'}</button>
          <span class="muted" data-testid="error-count">${infos ? `${infos.error_count} validation error(s)` : ''}</span>
        </div>
      </form>
    </section>
  `;
}
