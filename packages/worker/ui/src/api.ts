/** The worker's REST API, same origin. Credentials entered in the console are kept for the browser tab only. */
const AUTH_KEY = 'ferry.auth';

export function setAuth(header: string | null): void {
  if (header) sessionStorage.setItem(AUTH_KEY, header);
  else sessionStorage.removeItem(AUTH_KEY);
}

export const hasAuth = (): boolean => sessionStorage.getItem(AUTH_KEY) !== null;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The REST root: the console is served at <root>/ui/. */
export const ROOT = location.pathname.replace(/\/ui(\/.*)?$/, '');

let onUnauthorized: (() => void) | undefined;
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  // x-requested-with: the worker answers 401 without a WWW-Authenticate challenge (no browser dialog; the console asks).
  const headers: Record<string, string> = { accept: 'application/json', 'x-requested-with': 'ferry-console' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const auth = sessionStorage.getItem(AUTH_KEY);
  if (auth) headers.authorization = auth;
  const res = await fetch(ROOT + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* metrics are text */
  }
  if (res.status === 401) onUnauthorized?.();
  if (!res.ok) throw new ApiError(res.status, parsed?.message ?? `${res.status} ${res.statusText}`);
  return parsed as T;
}

export const enc = encodeURIComponent;

export interface TaskStatus {
  id: number;
  state: string;
  worker_id: string;
  trace?: string;
  message?: string;
}
export interface Status {
  name: string;
  type: string;
  connector: { state: string; worker_id: string; trace?: string; message?: string };
  tasks: TaskStatus[];
}
export interface Info {
  name: string;
  type: string;
  config: Record<string, string>;
  tasks: Array<{ connector: string; task: number }>;
}
export interface ConfigKey {
  name: string;
  type: string;
  required: boolean;
  default_value: string | null;
  importance: string;
  documentation: string;
  group: string | null;
  order_in_group: number;
  display_name: string;
}
/** A chunked job of a connector (the `Job` schema of /openapi.json). */
export interface Job {
  id: string;
  work: string;
  state: 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
  chunks: { total: number; done: number; running?: number; failed?: number };
  rows: number;
  rowsPerSecond?: number;
  etaSeconds?: number | null;
  error?: string;
}

/** A readable message for a failed request: 403 says the user may only read. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError && err.status === 403) return `Not allowed (403): ${err.message}`;
  if (err instanceof ApiError && err.status === 401) return 'Sign-in required (401): enter credentials';
  return (err as Error).message;
}
