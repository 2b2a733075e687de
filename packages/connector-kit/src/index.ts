/**
 * @ferry/connector-kit: what connectors share instead of copying, the one
 * permitted import besides @ferry/core (connector folders never import each
 * other).
 */
export { backoffDelay } from './backoff.js';
export { CONNECTION_ERROR_CODES, connectionErrorCode, isConnectionError } from './connection-errors.js';
export { AwsCredentialsConfig, awsCredentials, awsHttpHandlerOptions, checkAwsCredentials, type AwsCredentialOptions } from './aws.js';
export { FERRY_VERSION } from './version.js';
