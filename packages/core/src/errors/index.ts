export { ConnectError, hasErrorCode, type ErrorCode } from './connect-error.js';
export { RetriableError } from './retriable-error.js';
export { NotConnectedError } from './not-connected-error.js';
export { DataError } from './data-error.js';
export { ConfigError, type FieldErrors } from './config-error.js';
