import type { ConnectRecord } from '@ferry/core';

/** What the runners need from a connector's transforms: apply them, or drop the record (null). */
export interface RecordTransformer {
  readonly empty: boolean;
  apply<R extends ConnectRecord>(record: R): R | null;
  close?(): void;
}

export const noTransforms: RecordTransformer = {
  empty: true,
  apply: (r) => r,
};
