import {
  Admin,
  findCoordinatorV6,
  heartbeatV4,
  joinGroupV9,
  leaveGroupV5,
  syncGroupV5,
  type Connection,
} from '@platformatic/kafka';
import type { Logger } from '@ferry/core';
import {
  CONNECT_PROTOCOL_NAME,
  CONNECT_PROTOCOL_TYPE,
  decodeAssignment,
  decodeMetadata,
  encodeAssignment,
  encodeMetadata,
  type Assignment,
  type MemberMetadata,
} from './connect-protocol.js';
import type { KafkaConnection } from '../backbone/kafka-connection.js';
import { platformaticConnection } from './kafka-client-options.js';

export interface GroupMemberOptions {
  /** The worker's connection (TLS, SASL) to the group coordinator. */
  connection: KafkaConnection;
  clientId: string;
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  logger: Logger;
}

export interface JoinedMember {
  memberId: string;
  metadata: MemberMetadata;
}

export interface GroupCallbacks {
  /** This worker's metadata for the next join (its URL and what it runs now). */
  metadata(): MemberMetadata;
  /** Leader only: one assignment per member. */
  assign(members: JoinedMember[], generation: number, leaderId: string): Promise<Map<string, Assignment>>;
  /** The assignment of a completed rebalance. */
  onAssignment(assignment: Assignment, generation: number): void;
  /** Membership lost (expelled, or the coordinator unreachable past the session timeout): stop all work. */
  onLost(reason: string): void;
}

const errorIds = (err: unknown): string[] => {
  const e = err as { errors?: Array<{ apiId?: string }>; apiId?: string };
  return [...(e.errors ?? []).map((x) => x.apiId ?? ''), e.apiId ?? ''].filter(Boolean);
};

/**
 * A worker's membership in its cluster through Kafka's classic group
 * protocol with protocol type `connect`: JoinGroup, SyncGroup, Heartbeat and
 * LeaveGroup, spoken directly (no consumer-group semantics on top). Each
 * completed round gives a generation; work is only valid within it.
 */
export class GroupMember {
  private readonly client: Admin;
  private coordinator: Connection | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private rejoinRequested = true;
  private wake: (() => void) | undefined;
  memberId = '';
  generation = -1;
  leaderId = '';
  /** Last time the coordinator confirmed this member in its generation. */
  lastConfirmed = 0;
  /** False between the start of a rebalance and its assignment. */
  stable = false;

  constructor(
    private readonly opts: GroupMemberOptions,
    private readonly callbacks: GroupCallbacks,
  ) {
    this.client = new Admin({
      ...platformaticConnection(opts.connection),
      clientId: `${opts.clientId}-group`,
      // JoinGroup may wait the whole rebalance timeout for the other members.
      requestTimeout: opts.rebalanceTimeoutMs + 10000,
      retries: 0,
    });
  }

  get isLeader(): boolean {
    return this.stable && this.memberId !== '' && this.memberId === this.leaderId;
  }

  /** True while the coordinator has confirmed this member within the session timeout. */
  inGoodStanding(): boolean {
    return this.stable && this.confirmedRecently();
  }

  /** A member of a generation confirmed within the session timeout (possibly rejoining for the next one). */
  confirmedRecently(): boolean {
    return this.generation >= 0 && Date.now() - this.lastConfirmed < this.opts.sessionTimeoutMs;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Starts a new rebalance (the leader does this when connectors or task counts change). */
  requestRejoin(): void {
    this.rejoinRequested = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop?.catch(() => undefined);
    if (this.memberId && this.coordinator) {
      await leaveGroupV5.api.async(this.coordinator, this.opts.groupId, [{ memberId: this.memberId, reason: 'worker stopping' }]).catch(() => undefined);
    }
    await this.client.close().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async findCoordinator(): Promise<Connection> {
    const md = await this.client.metadata({ topics: [], forceUpdate: true });
    const broker = [...md.brokers.values()][0];
    if (!broker) throw new Error('No broker in the cluster metadata');
    const conn = await this.client.connections.get(broker);
    const res = await findCoordinatorV6.api.async(conn, 0, [this.opts.groupId]);
    const c = res.coordinators[0];
    if (!c || c.errorCode !== 0) throw new Error(`Group coordinator not available (error ${c?.errorCode})`);
    return this.client.connections.get({ host: c.host, port: c.port });
  }

  private async run(): Promise<void> {
    const log = this.opts.logger;
    let backoff = 200;
    while (this.running) {
      try {
        this.coordinator ??= await this.findCoordinator();
        if (this.rejoinRequested) {
          await this.joinAndSync(this.coordinator).catch((err) => {
            this.rejoinRequested = true;
            throw err;
          });
          backoff = 200;
          continue;
        }
        await this.sleep(this.opts.heartbeatIntervalMs);
        if (!this.running || this.rejoinRequested) continue;
        await heartbeatV4.api.async(this.coordinator, this.opts.groupId, this.generation, this.memberId, null);
        this.lastConfirmed = Date.now();
      } catch (err) {
        const ids = errorIds(err);
        if (ids.includes('REBALANCE_IN_PROGRESS')) {
          this.stable = false;
          this.rejoinRequested = true;
          continue;
        }
        if (ids.some((id) => ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID'].includes(id))) {
          log.warn({ ids }, 'Expelled from the group; stopping all work and rejoining');
          this.lose(`expelled from the group (${ids.join(', ')})`);
          this.memberId = '';
          this.rejoinRequested = true;
          continue;
        }
        if (ids.some((id) => ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS'].includes(id)) || !ids.length) {
          this.coordinator = undefined;
        }
        if (this.stable && Date.now() - this.lastConfirmed >= this.opts.sessionTimeoutMs) {
          this.lose(`group coordinator unreachable for ${this.opts.sessionTimeoutMs} ms`);
          this.rejoinRequested = true;
        }
        if (!this.running) break;
        log.warn({ err: (err as Error).message, ids }, 'Group membership request failed; retrying');
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  private lose(reason: string): void {
    this.stable = false;
    this.generation = -1;
    this.callbacks.onLost(reason);
  }

  private async joinAndSync(conn: Connection): Promise<void> {
    const log = this.opts.logger;
    this.stable = false;
    this.rejoinRequested = false;
    const protocols = [{ name: CONNECT_PROTOCOL_NAME, metadata: encodeMetadata(this.callbacks.metadata()) }];
    let joined;
    try {
      joined = await joinGroupV9.api.async(conn, this.opts.groupId, this.opts.sessionTimeoutMs, this.opts.rebalanceTimeoutMs, this.memberId, null, CONNECT_PROTOCOL_TYPE, protocols, null);
    } catch (err) {
      if (errorIds(err).includes('MEMBER_ID_REQUIRED')) {
        this.memberId = (err as { response?: { memberId?: string } }).response?.memberId ?? '';
        this.rejoinRequested = true;
        return;
      }
      if (errorIds(err).includes('UNKNOWN_MEMBER_ID')) this.memberId = '';
      this.rejoinRequested = true;
      throw err;
    }
    this.memberId = joined.memberId;
    this.leaderId = joined.leader;
    const generation = joined.generationId;
    let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
    if (joined.leader === joined.memberId) {
      const members = joined.members.map((m) => ({ memberId: m.memberId, metadata: decodeMetadata(m.metadata) }));
      const planned = await this.callbacks.assign(members, generation, joined.leader);
      assignments = [...planned].map(([memberId, a]) => ({ memberId, assignment: encodeAssignment(a) }));
    }
    let synced;
    try {
      synced = await syncGroupV5.api.async(conn, this.opts.groupId, generation, this.memberId, null, CONNECT_PROTOCOL_TYPE, CONNECT_PROTOCOL_NAME, assignments);
    } catch (err) {
      this.rejoinRequested = true;
      if (errorIds(err).includes('UNKNOWN_MEMBER_ID')) this.memberId = '';
      throw err;
    }
    const assignment = decodeAssignment(synced.assignment);
    this.generation = generation;
    this.lastConfirmed = Date.now();
    this.stable = true;
    log.info(
      { generation, leader: this.memberId === this.leaderId, connectors: assignment.assigned.connectors.length, tasks: assignment.assigned.tasks.length, revoked: assignment.revoked.tasks.length + assignment.revoked.connectors.length, delay: assignment.delay },
      'Joined group',
    );
    this.callbacks.onAssignment(assignment, generation);
  }
}
