/** Exit codes of `ferry`, stable for scripts (docs/cli.md). */
export const EXIT = {
  OK: 0,
  /** Anything unexpected (a 5xx answer, a bug). */
  ERROR: 1,
  /** Bad command line or unreadable input file. */
  USAGE: 2,
  /** The worker could not be reached. */
  UNREACHABLE: 3,
  /** 404: no such connector, task, plugin or logger. */
  NOT_FOUND: 4,
  /** 409: the connector exists, or a rebalance is in progress. */
  CONFLICT: 5,
  /** 400 or validation/lint errors: the config is invalid. */
  INVALID: 6,
  /** 401/403: missing or insufficient credentials. */
  AUTH: 7,
  /** `--wait` ran out of time, or the connector or a task FAILED while waiting. */
  WAIT_FAILED: 8,
  /** `ferry test`: an expectation did not hold. */
  TEST_FAILED: 9,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export function exitCodeOfStatus(status: number): number {
  if (status === 400) return EXIT.INVALID;
  if (status === 401 || status === 403) return EXIT.AUTH;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 409) return EXIT.CONFLICT;
  return EXIT.ERROR;
}

export interface ClientOptions {
  url: string;
  /** `user:password`, or `user` with the password in FERRY_PASSWORD. */
  user?: string;
  password?: string;
  token?: string;
  timeoutMs?: number;
}

/**
 * A small client of the worker's REST API: JSON in and out, credentials sent
 * as an Authorization header when given, errors mapped to exit codes.
 */
export class FerryClient {
  readonly base: string;
  private readonly auth: string | undefined;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    if (opts.token) this.auth = `Bearer ${opts.token}`;
    else if (opts.user) {
      const [user, ...rest] = opts.user.split(':');
      const password = rest.length ? rest.join(':') : (opts.password ?? '');
      this.auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    }
  }

  /** Returns the status and the parsed body; throws CliError on a transport failure. */
  async raw<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.auth) headers.authorization = this.auth;
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`Cannot reach the worker at ${this.base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, EXIT.UNREACHABLE);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* text (metrics) */
    }
    return { status: res.status, body: parsed as T };
  }

  /** Like raw(), but a status of 400 or more becomes a CliError with the worker's message. */
  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.raw<T>(method, path, body);
    if (r.status >= 400) {
      const msg = (r.body as { message?: string } | undefined)?.message ?? (typeof r.body === 'string' ? r.body : '');
      throw new CliError(`${method} ${path}: ${r.status}${msg ? ` ${msg}` : ''}`, exitCodeOfStatus(r.status));
    }
    return r.body;
  }
}

export const enc = encodeURIComponent;
