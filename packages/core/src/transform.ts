import type { ConfigDef } from './config.js';
import type { ConnectRecord } from './record.js';

/**
 * A single-message transform. `apply` returns the new record (it must not
 * mutate its input), or null to drop the record.
 */
export interface Transformation<R extends ConnectRecord = ConnectRecord> {
  /** `config` holds the transform's own options (`transforms.<alias>.` stripped). */
  configure(config: Record<string, string>): void;
  apply(record: R): R | null;
  close?(): void;
}

/** A condition deciding whether a transform applies to a record. */
export interface Predicate<R extends ConnectRecord = ConnectRecord> {
  configure(config: Record<string, string>): void;
  test(record: R): boolean;
  close?(): void;
}

export interface TransformationPlugin {
  readonly type: 'transformation';
  readonly className: string;
  readonly aliases?: readonly string[];
  readonly version: string;
  readonly config: ConfigDef<any>;
  readonly description?: string;
  create(): Transformation;
}

export interface PredicatePlugin {
  readonly type: 'predicate';
  readonly className: string;
  readonly aliases?: readonly string[];
  readonly version: string;
  readonly config: ConfigDef<any>;
  readonly description?: string;
  create(): Predicate;
}
