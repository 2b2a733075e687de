import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, hasAuth, setAuth, whenUnauthorized } from './api.js';
import { ConnectorPage } from './connector.js';
import { ConnectorForm } from './form.js';
import { ConnectorList } from './list.js';
import './style.css';

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

/** Asks for credentials when the worker answers 401; they are kept for this tab only. */
function Login(props: { onDone: () => void; refused: boolean }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const submit = (e: Event) => {
    e.preventDefault();
    setAuth(token ? `Bearer ${token}` : `Basic ${btoa(`${user}:${password}`)}`);
    props.onDone();
  };
  return html`<div class="modal"><form onSubmit=${submit}>
    <h2>Sign in to the worker</h2>
    ${props.refused && html`<p class="error" data-testid="sign-in-refused">The worker refused these credentials (401).</p>`}
    <div class="field"><label>User</label><input name="user" value=${user} onInput=${(e: Event) => setUser((e.target as HTMLInputElement).value)} /></div>
    <div class="field"><label>Password</label><input name="password" type="password" value=${password} onInput=${(e: Event) => setPassword((e.target as HTMLInputElement).value)} /></div>
    <div class="field"><label>or a bearer token</label><input name="token" type="password" value=${token} onInput=${(e: Event) => setToken((e.target as HTMLInputElement).value)} /></div>
    <button class="primary" type="submit" data-testid="sign-in">Sign in</button>
  </form></div>`;
}

function App() {
  const hash = useHash();
  const [version, setVersion] = useState('');
  const [login, setLogin] = useState(false);
  const [refused, setRefused] = useState(false);
  useEffect(() => {
    whenUnauthorized(() => {
      setRefused(hasAuth());
      setLogin(true);
    });
    void api('GET', '/').then((r) => setVersion(`${r.version}${r.kafka_cluster_id ? ` · cluster ${r.kafka_cluster_id}` : ''}`), () => undefined);
  }, []);
  const path = hash.replace(/^#/, '') || '/';
  let page;
  let m;
  if (path === '/new') page = html`<${ConnectorForm} />`;
  else if ((m = /^\/connectors\/([^/]+)\/edit$/.exec(path))) page = html`<${ConnectorForm} key=${`edit-${m[1]}`} name=${decodeURIComponent(m[1]!)} />`;
  else if ((m = /^\/connectors\/([^/]+)$/.exec(path))) page = html`<${ConnectorPage} key=${m[1]} name=${decodeURIComponent(m[1]!)} />`;
  else page = html`<${ConnectorList} />`;
  return html`
    <header><a href="#/" class="brand">Ferry</a><span class="muted">${version}</span>
      <span class="spacer"></span><a href="../openapi.json" class="muted">API</a>
      <button class="link" onClick=${() => { setAuth(null); setRefused(false); setLogin(true); }} data-testid="credentials">Credentials</button></header>
    <main>${page}</main>
    ${login && html`<${Login} refused=${refused} onDone=${() => { setLogin(false); location.reload(); }} />`}
  `;
}

render(html`<${App} />`, document.getElementById('app')!);
