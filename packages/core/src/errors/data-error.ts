import { ConnectError } from './connect-error.js';

/**
 * A record cannot be processed because of its content (malformed, wrong
 * shape, rejected by the target). The runtime applies `errors.tolerance`:
 * fail the task, or skip the record (logging it and sending it to the
 * dead-letter queue when one is configured).
 */
export class DataError extends ConnectError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause, code: 'DATA_ERROR' });
  }
}
