import { resolve } from 'node:path';
import type { AddressInfo, Server } from 'node:net';
import type { RequestListener } from 'node:http';
import type { Logger } from '@ferry/core';
import type { WorkerSettings } from '../config/worker-config.js';
import { checkSecurityOptions } from '../config/security-config.js';
import { createAuthMiddleware } from './auth.js';
import { allowedHostNames } from './guards.js';
import { httpsOptions, loopbackOnly, parseListeners, startListeners, type Listener } from './listeners.js';
import type { RestSecurity } from './server.js';

/**
 * The REST API's listeners and what guards them, from the worker options:
 * built (and checked: the worker refuses to start on a listener open to the
 * network without authentication) before anything else starts.
 */
export class RestEndpoint {
  private servers: Array<{ listener: Listener; server: Server }> = [];

  private constructor(
    private readonly settings: WorkerSettings,
    private readonly baseDir: string,
    readonly listeners: Listener[],
    readonly security: RestSecurity,
  ) {}

  static prepare(settings: WorkerSettings, baseDir: string, logger: Logger): RestEndpoint {
    checkSecurityOptions(settings);
    const listeners = parseListeners(settings);
    const file = (k: 'rest.auth.credentials.file' | 'rest.auth.tokens.file') => (settings[k] ? resolve(baseDir, settings[k]) : undefined);
    const auth = createAuthMiddleware(
      { credentialsFile: file('rest.auth.credentials.file'), tokensFile: file('rest.auth.tokens.file'), unauthenticatedPaths: settings['rest.auth.unauthenticated.paths'] },
      logger,
    );
    const required = settings['rest.auth.required'] === 'true' || (settings['rest.auth.required'] === 'auto' && !loopbackOnly(listeners));
    if (required && !auth) {
      throw new Error(
        'REST authentication is required (rest.auth.required, or a listener on a non-loopback address): set rest.auth.credentials.file or rest.auth.tokens.file, or rest.auth.required=false to serve the API to anyone who can reach it',
      );
    }
    return new RestEndpoint(settings, baseDir, listeners, {
      allowedHosts: allowedHostNames(
        listeners.map((l) => l.host),
        settings['rest.advertised.host.name'],
        settings['rest.allowed.host.names'],
      ),
      cors: { allowOrigin: settings['access.control.allow.origin'], allowMethods: settings['access.control.allow.methods'] },
      auth,
    });
  }

  get authenticated(): boolean {
    return this.security.auth !== undefined;
  }

  async listen(app: RequestListener): Promise<void> {
    this.servers = await startListeners(app, this.listeners, () => httpsOptions(this.settings, this.baseDir));
  }

  /** Port of each listener. */
  get ports(): number[] {
    return this.servers.map(({ server }) => (server.address() as AddressInfo | null)?.port ?? 0);
  }

  /** One URL per listener (wildcard hosts shown as 127.0.0.1). */
  get urls(): string[] {
    return this.servers.map(({ listener }, i) => {
      const host = ['', '0.0.0.0', '::'].includes(listener.host) ? '127.0.0.1' : listener.host.includes(':') ? `[${listener.host}]` : listener.host;
      return `${listener.protocol}://${host}:${this.ports[i]}`;
    });
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(({ server }) => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        return closed;
      }),
    );
  }
}
