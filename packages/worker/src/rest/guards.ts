import { hostname, networkInterfaces } from 'node:os';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Request checks that run before authentication and every route: the Host
 * header (DNS rebinding), cross-origin requests (CORS, off by default) and
 * the body's Content-Type (415 unless application/json, as Kafka Connect).
 */

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/** Host names a request may name in its Host header: the advertised name, the bound names, and extra ones. */
export function allowedHostNames(boundHosts: string[], advertised: string | undefined, extra: string[]): Set<string> | undefined {
  if (extra.includes('*')) return undefined;
  const out = new Set<string>();
  const add = (h: string | undefined) => {
    if (h) out.add(h.replace(/^\[|\]$/g, '').toLowerCase());
  };
  add(advertised);
  for (const h of extra) add(h);
  for (const h of boundHosts) {
    if (WILDCARDS.has(h)) {
      add(hostname());
      for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) add(a.address);
      for (const l of ['localhost', '127.0.0.1', '::1']) add(l);
    } else {
      add(h);
      if (LOOPBACK.test(h.replace(/^\[|\]$/g, ''))) for (const l of ['localhost', '127.0.0.1', '::1']) add(l);
    }
  }
  return out;
}

function hostOf(header: string): string {
  if (header.startsWith('[')) return header.slice(1, header.indexOf(']')).toLowerCase();
  const colon = header.lastIndexOf(':');
  return (colon >= 0 ? header.slice(0, colon) : header).toLowerCase();
}

/** 421 for a Host header naming anything but this worker (a DNS-rebinding page names the attacker's domain). */
export function hostCheck(allowed: Set<string> | undefined): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!allowed) return next();
    const h = req.headers.host;
    if (h && allowed.has(hostOf(h))) return next();
    res.status(421).json({ error_code: 421, message: 'Misdirected request: the Host header does not name this worker (see rest.advertised.host.name and rest.allowed.host.names)' });
  };
}

export interface CorsOptions {
  /** access.control.allow.origin: '' (off), '*', or comma-separated origins. */
  allowOrigin: string;
  /** access.control.allow.methods: '' means GET, POST, HEAD (Kafka Connect's default). */
  allowMethods: string;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * CORS as Kafka Connect's access.control.allow.origin/methods. Beyond it: a
 * state-changing request whose Origin header is neither this worker's own
 * origin nor an allowed one is refused (403), so a web page cannot drive the
 * API through a user's browser even with requests that need no preflight.
 */
export function cors(opts: CorsOptions): RequestHandler {
  const origins = opts.allowOrigin.split(',').map((s) => s.trim()).filter(Boolean);
  const any = origins.includes('*');
  const methods = opts.allowMethods.trim() || 'GET,POST,HEAD';
  const allowedMethods = new Set(methods.split(',').map((m) => m.trim().toUpperCase()));
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (!origin) return next();
    const own = (() => {
      try {
        return new URL(origin).host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
      } catch {
        return false;
      }
    })();
    const allowed = any || origins.includes(origin);
    const method = req.method.toUpperCase();
    if (allowed) {
      res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
      res.setHeader('Vary', 'Origin');
      if (method === 'OPTIONS' && req.headers['access-control-request-method']) {
        res.setHeader('Access-Control-Allow-Methods', methods);
        res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization');
        res.setHeader('Access-Control-Max-Age', '600');
        res.status(204).end();
        return;
      }
    }
    if (UNSAFE.has(method) && !own && (!allowed || !allowedMethods.has(method))) {
      res.status(403).json({ error_code: 403, message: `Cross-origin ${method} from ${origin} is not allowed (access.control.allow.origin / access.control.allow.methods)` });
      return;
    }
    next();
  };
}

/** 415 for a request body that is not application/json (no form or text/plain bodies from web pages). */
export function requireJsonBody(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return next();
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/json') return next();
    res.status(415).json({ error_code: 415, message: `HTTP 415 Unsupported Media Type: request bodies must be application/json, not ${type || 'untyped'}` });
  };
}
