import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '@ferry/core';

/**
 * REST authentication and authorization, as one express middleware mounted
 * before every route (present and future: /ui, /openapi.json go through it
 * too).
 *
 * - HTTP Basic from a credentials file, as Kafka Connect's
 *   BasicAuthSecurityRestExtension with PropertyFileLoginModule does, and
 *   bearer tokens from a tokens file. Both files have one entry a line,
 *   `name: secret[,role]` (`#` starts a comment). For the credentials file
 *   `name` is the user; for the tokens file it is a label used in logs.
 * - The secret is the password (or token) in clear, or hashed:
 *   `sha256:<hex>` (for long random tokens) or
 *   `scrypt:<N>:<r>:<p>:<salt base64>:<hash base64>` (for passwords; see
 *   {@link hashSecret}, `connect-worker hash-password`).
 * - Roles: `admin` (every request) and `read-only` (GET and HEAD). An
 *   entry without a role is read-only.
 */
export type Role = 'admin' | 'read-only';
const ROLES: readonly Role[] = ['admin', 'read-only'];

export interface Principal {
  name: string;
  role: Role;
}

interface Entry {
  name: string;
  secret: string;
  role: Role;
}

/** Parses a credentials or tokens file; throws naming the file and line (never the secret). */
export function parseCredentials(text: string, source: string): Entry[] {
  const out: Entry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) return;
    const m = /^([^:=\s]+)\s*[:=]\s*(.*)$/.exec(line);
    if (!m || !m[2]) throw new Error(`${source} line ${i + 1}: expected "name: secret[,role]"`);
    let secret = m[2].trim();
    let role: Role = 'read-only';
    const comma = secret.lastIndexOf(',');
    if (comma >= 0) {
      const r = secret.slice(comma + 1).trim().toLowerCase();
      if ((ROLES as readonly string[]).includes(r)) {
        role = r as Role;
        secret = secret.slice(0, comma).trim();
      }
    }
    if (!secret) throw new Error(`${source} line ${i + 1}: empty secret`);
    if (secret.startsWith('scrypt:') && secret.split(':').length !== 6) throw new Error(`${source} line ${i + 1}: malformed scrypt hash`);
    out.push({ name: m[1]!, secret, role });
  });
  return out;
}

/** A scrypt hash of a password for a credentials file. */
export function hashSecret(plain: string): string {
  const N = 16384;
  const r = 8;
  const p = 1;
  const salt = randomBytes(16);
  const hash = scryptSync(plain, salt, 32, { N, r, p });
  return `scrypt:${N}:${r}:${p}:${salt.toString('base64')}:${hash.toString('base64')}`;
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest();

function matches(stored: string, presented: string): boolean {
  if (stored.startsWith('sha256:')) {
    const want = Buffer.from(stored.slice(7), 'hex');
    const got = sha256(presented);
    return want.length === got.length && timingSafeEqual(want, got);
  }
  if (stored.startsWith('scrypt:')) {
    const [, n, r, p, salt, hash] = stored.split(':');
    const want = Buffer.from(hash!, 'base64');
    const got = scryptSync(presented, Buffer.from(salt!, 'base64'), want.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * Number(n) * Number(r) });
    return timingSafeEqual(want, got);
  }
  return timingSafeEqual(sha256(stored), sha256(presented));
}

export interface AuthOptions {
  credentialsFile?: string;
  tokensFile?: string;
  /** Paths served to anyone (GET only): a subset of `/`, `/health`, `/metrics`. */
  unauthenticatedPaths: string[];
  realm?: string;
}

function load(path: string, what: string, logger: Logger): Entry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read the REST ${what} file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if ((statSync(path).mode & 0o077) !== 0) logger.warn({ file: path }, `The REST ${what} file is readable by other users; chmod 600 it`);
  return parseCredentials(text, path);
}

/**
 * A credentials file, read again when it changes (checked at most once a
 * second): rotated passwords and removed users take effect without a
 * restart. A file that no longer parses keeps the last good entries (and
 * is logged); every cached verification is dropped on a reload.
 */
class CredentialsFile {
  private entries: Entry[];
  private mtime: number;
  private checkedAt = Date.now();

  constructor(
    private readonly path: string,
    private readonly what: string,
    private readonly logger: Logger,
    private readonly onReload: () => void,
  ) {
    this.entries = load(path, what, logger);
    this.mtime = statSync(path).mtimeMs;
  }

  get(): Entry[] {
    const now = Date.now();
    if (now - this.checkedAt < 1000) return this.entries;
    this.checkedAt = now;
    try {
      const m = statSync(this.path).mtimeMs;
      if (m === this.mtime) return this.entries;
      this.entries = load(this.path, this.what, this.logger);
      this.mtime = m;
      this.onReload();
      this.logger.info({ file: this.path, entries: this.entries.length }, `REST ${this.what} file reloaded`);
    } catch (err) {
      this.logger.error({ file: this.path, err: (err as Error).message }, `REST ${this.what} file not reloaded; the previous entries stay`);
    }
    return this.entries;
  }
}

/** The principal of a request, set by the middleware. */
export function principalOf(req: Request): Principal | undefined {
  return (req as Request & { ferryPrincipal?: Principal }).ferryPrincipal;
}

/**
 * The authentication middleware, or undefined when neither file is set
 * (the worker then refuses to listen on a non-loopback address unless the
 * operator says so; see rest.auth.required).
 */
export function createAuthMiddleware(opts: AuthOptions, logger: Logger): RequestHandler | undefined {
  if (!opts.credentialsFile && !opts.tokensFile) return undefined;
  // Successful checks, keyed by a hash of what was presented: scrypt runs once per credential, not per request.
  const verified = new Map<string, Principal>();
  const forget = () => verified.clear();
  const userFile = opts.credentialsFile ? new CredentialsFile(opts.credentialsFile, 'credentials', logger, forget) : undefined;
  const tokenFile = opts.tokensFile ? new CredentialsFile(opts.tokensFile, 'tokens', logger, forget) : undefined;
  const realm = opts.realm ?? 'ferry';
  const challenges = [...(userFile ? [`Basic realm="${realm}", charset="UTF-8"`] : []), ...(tokenFile ? [`Bearer realm="${realm}"`] : [])];
  const anonymous = new Set(opts.unauthenticatedPaths);

  const remember = (key: Buffer, p: Principal) => {
    if (verified.size > 1000) verified.clear();
    verified.set(key.toString('hex'), p);
    return p;
  };

  const authenticate = (header: string | undefined): Principal | undefined => {
    if (!header) return undefined;
    const users = userFile?.get() ?? [];
    const tokens = tokenFile?.get() ?? [];
    const sp = header.indexOf(' ');
    const scheme = (sp < 0 ? header : header.slice(0, sp)).toLowerCase();
    const value = sp < 0 ? '' : header.slice(sp + 1).trim();
    const key = sha256(`${scheme}\u0000${value}`);
    const hit = verified.get(key.toString('hex'));
    if (hit) return hit;
    if (scheme === 'basic' && users.length) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return undefined;
      const user = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      const e = users.find((u) => u.name === user);
      if (e && matches(e.secret, password)) return remember(key, { name: e.name, role: e.role });
      // An unknown user costs as much as a wrong password: answer times do not tell which users exist.
      const dummy = users.find((u) => u.secret.startsWith('scrypt:'))?.secret;
      if (!e && dummy) matches(dummy, password);
      return undefined;
    }
    if (scheme === 'bearer' && tokens.length && value) {
      for (const t of tokens) if (matches(t.secret, value)) return remember(key, { name: t.name, role: t.role });
    }
    return undefined;
  };

  return (req: Request, res: Response, next: NextFunction) => {
    const method = req.method.toUpperCase();
    const readOnly = method === 'GET' || method === 'HEAD';
    if (readOnly && anonymous.has(req.path)) return next();
    // `/ui` listed: the console's static files (no data) for anyone; its API calls still need credentials.
    if (readOnly && anonymous.has('/ui') && req.path.startsWith('/ui/')) return next();
    const principal = authenticate(req.headers.authorization);
    if (!principal) {
      if (req.headers.authorization) logger.warn({ method, path: req.path, ip: req.socket.remoteAddress }, 'REST request with invalid credentials');
      // The console asks for credentials in its own form: no challenge, or browsers would open their dialog too.
      if (req.headers['x-requested-with'] !== 'ferry-console') res.setHeader('WWW-Authenticate', challenges);
      res.status(401).json({ error_code: 401, message: 'Authentication required' });
      return;
    }
    if (principal.role !== 'admin' && !readOnly) {
      logger.warn({ user: principal.name, method, path: req.path }, 'REST request denied: read-only user');
      res.status(403).json({ error_code: 403, message: `User ${principal.name} has role ${principal.role}; ${method} requests need the admin role` });
      return;
    }
    (req as Request & { ferryPrincipal?: Principal }).ferryPrincipal = principal;
    next();
  };
}
