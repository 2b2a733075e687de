/**
 * The runtime's store contracts (offsets, configs, statuses). They belong to
 * the worker: connectors never see stores, only an OffsetStorageReader.
 */
import type { ConnectorConfig, SourceOffset, SourcePartition, TaskConfig } from '@ferry/core';

/**
 * Where source offsets live. Standalone mode keeps them in a file, distributed
 * mode in a compacted topic; connectors never see which.
 */
export interface OffsetStore {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Offsets of these partitions of `connector` (absent ones are missing). */
  get(connector: string, partitions: SourcePartition[]): Promise<Map<SourcePartition, SourceOffset>>;
  /** Every stored partition/offset pair of `connector`. */
  list(connector: string): Promise<Array<{ partition: SourcePartition; offset: SourceOffset }>>;
  /**
   * Writes offsets durably (resolves once they are). A null offset removes
   * the partition.
   */
  set(connector: string, entries: Array<{ partition: SourcePartition; offset: SourceOffset | null }>): Promise<void>;
  /** Removes every offset of `connector`. */
  clear(connector: string): Promise<void>;
}

/** The desired state of a connector, as set through the API. */
export type TargetState = 'STARTED' | 'PAUSED' | 'STOPPED';

export interface ConnectorRecord {
  name: string;
  config: ConnectorConfig;
  target: TargetState;
  tasks: TaskConfig[];
}

/** Where connector configs (and their task configs) live. */
export interface ConfigStore {
  start(): Promise<void>;
  stop(): Promise<void>;
  list(): Promise<ConnectorRecord[]>;
  get(name: string): Promise<ConnectorRecord | undefined>;
  put(record: ConnectorRecord): Promise<void>;
  remove(name: string): Promise<void>;
}

export type ConnectorState = 'UNASSIGNED' | 'RUNNING' | 'PAUSED' | 'FAILED' | 'RESTARTING' | 'STOPPED';
export type TaskState = Exclude<ConnectorState, 'STOPPED'>;

export interface StateEntry {
  state: ConnectorState;
  workerId: string;
  trace?: string;
  /** What a running task is waiting on (e.g. "retrying: connection refused"). */
  message?: string;
}

/** Where connector and task states are published (for status answers). */
export interface StatusStore {
  putConnector(name: string, entry: StateEntry): Promise<void>;
  putTask(name: string, task: number, entry: StateEntry): Promise<void>;
  getConnector(name: string): Promise<StateEntry | undefined>;
  getTasks(name: string): Promise<Map<number, StateEntry>>;
  remove(name: string): Promise<void>;
}
