import { ConnectError } from './connect-error.js';

/**
 * The external system cannot be reached. The runtime reports it in the task
 * status, backs off, and retries; the worker stays up.
 */
export class NotConnectedError extends ConnectError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause, code: 'NOT_CONNECTED' });
  }
}
