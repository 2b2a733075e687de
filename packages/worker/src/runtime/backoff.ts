/** The runtime's retries use the connectors' one backoff definition (exponential, jitter in [half, all]). */
export { backoffDelay } from '@ferry/connector-kit';
