/**
 * The logical replication stream: START_REPLICATION with pgoutput on a
 * replication connection, messages decoded by pg-logical-replication's
 * PgoutputPlugin.
 *
 * We drive the connection ourselves rather than through the package's
 * LogicalReplicationService because that service reports every received LSN
 * as flushed (on each message, and from a timer even with auto-acknowledge
 * off). Here the flush position sent to the server is only ever what
 * `confirm()` was given: the LSN whose records are durable downstream.
 */
import type pg from 'pg';
import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { NotConnectedError } from '@ferry/core';
import { connect, mapQueryError, type ConnectionOptions } from './connection.js';

export function parseLsn(s: string | null | undefined): bigint {
  if (!s) return 0n;
  const [hi, lo] = s.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

export function formatLsn(n: bigint): string {
  return `${(n >> 32n).toString(16).toUpperCase()}/${(n & 0xffffffffn).toString(16).toUpperCase()}`;
}

export interface StreamHandlers {
  /** A decoded pgoutput message; `walStart` is the LSN the server tagged it with. */
  message(walStart: bigint, msg: Pgoutput.Message): void;
  /** A keepalive: the server has sent everything up to `walEnd`. */
  keepalive(walEnd: bigint): void;
  /** The stream failed or ended. */
  failed(err: Error): void;
}

const PG_EPOCH_MS = 946684800000n;
const STATUS_INTERVAL_MS = 10_000;

export class ReplicationStream {
  private client?: pg.Client;
  private readonly plugin: PgoutputPlugin;
  private received = 0n;
  private flushed = 0n;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private paused = false;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly slot: string,
    publication: string,
    private readonly handlers: StreamHandlers,
  ) {
    this.plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
  }

  /** Starts streaming; the server begins at max(startLsn, the slot's confirmed flush LSN). */
  async start(startLsn = 0n): Promise<void> {
    const client = await connect(this.opts, { replication: 'database' } as Partial<pg.ClientConfig>);
    this.client = client;
    const connection = (client as unknown as { connection: NodeJS.EventEmitter & { sendCopyFromChunk(b: Buffer): void; stream: NodeJS.ReadableStream } })
      .connection;
    connection.on('copyData', ({ chunk }: { chunk: Buffer }) => {
      try {
        this.onData(chunk);
      } catch (err) {
        this.fail(mapQueryError(err, 'Decoding the replication stream'));
      }
    });
    client.on('error', (err) => this.fail(mapQueryError(err, 'Replication connection')));
    client.on('end', () => this.fail(new NotConnectedError('The replication connection closed')));
    this.plugin
      .start(client, this.slot, formatLsn(startLsn))
      .then(
        () => this.fail(new NotConnectedError('The replication stream ended')),
        (err: unknown) => this.fail(mapQueryError(err, `Streaming from slot ${this.slot}`)),
      );
    this.timer = setInterval(() => this.sendStatus(false), STATUS_INTERVAL_MS);
    this.timer.unref();
  }

  private fail(err: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.handlers.failed(err);
  }

  private onData(buf: Buffer): void {
    if (buf[0] === 0x77) {
      // XLogData: 'w', dataStart, walEnd, sendTime, then the pgoutput message
      const start = buf.readBigUInt64BE(1);
      const end = buf.readBigUInt64BE(9);
      const msg = this.plugin.parse(buf.subarray(25));
      if (end > this.received) this.received = end;
      this.handlers.message(start, msg);
    } else if (buf[0] === 0x6b) {
      // Primary keepalive: 'k', walEnd, sendTime, replyRequested
      const walEnd = buf.readBigUInt64BE(1);
      if (walEnd > this.received) this.received = walEnd;
      this.handlers.keepalive(walEnd);
      if (buf[17]) this.sendStatus(false);
    }
  }

  /** Reports `lsn` as flushed: the slot may release WAL before it. Never moves backwards. */
  confirm(lsn: bigint): void {
    if (lsn <= this.flushed) return;
    this.flushed = lsn;
    this.sendStatus(false);
  }

  /** Asks the server for a keepalive (with its current WAL position). */
  ping(): void {
    this.sendStatus(true);
  }

  get confirmed(): bigint {
    return this.flushed;
  }

  private sendStatus(replyRequested: boolean): void {
    if (this.stopped || !this.client) return;
    const b = Buffer.alloc(34);
    b[0] = 0x72; // 'r'
    b.writeBigUInt64BE(this.received > this.flushed ? this.received : this.flushed, 1); // written
    b.writeBigUInt64BE(this.flushed, 9); // flushed: what the slot may confirm
    b.writeBigUInt64BE(this.flushed, 17); // applied
    b.writeBigUInt64BE((BigInt(Date.now()) - PG_EPOCH_MS) * 1000n, 25);
    b[33] = replyRequested ? 1 : 0;
    try {
      (this.client as unknown as { connection: { sendCopyFromChunk(b: Buffer): void } }).connection.sendCopyFromChunk(b);
    } catch {
      // the connection is going away; 'error'/'end' report it
    }
  }

  /** Backpressure: stop reading from the socket until resume(). */
  pause(): void {
    if (this.paused || !this.client) return;
    this.paused = true;
    (this.client as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.pause();
  }

  resume(): void {
    if (!this.paused || !this.client) return;
    this.paused = false;
    (this.client as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.resume();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const c = this.client;
    this.client = undefined;
    if (c) {
      if (this.paused) (c as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.resume();
      await c.end().catch(() => {});
    }
  }
}
