import { ConnectError, NotConnectedError } from '@ferry/core';

/** Every message, code and broker error message in an error's chain (causes, aggregated errors, broker responses). */
function describe(err: unknown, out: string[] = [], depth = 0): string[] {
  if (!err || typeof err !== 'object' || depth > 6) {
    if (err !== undefined && err !== null && typeof err !== 'object') out.push(String(err));
    return out;
  }
  const e = err as {
    name?: string;
    message?: string;
    code?: string;
    serverErrorMessage?: string;
    response?: { errorMessage?: string };
    errors?: unknown[];
    cause?: unknown;
  };
  for (const s of [e.name, e.code, e.message, e.serverErrorMessage, e.response?.errorMessage]) if (typeof s === 'string' && s) out.push(s);
  if (Array.isArray(e.errors)) for (const x of e.errors) describe(x, out, depth + 1);
  if (e.cause) describe(e.cause, out, depth + 1);
  return out;
}

/**
 * Sorts a failure to connect to Kafka, whatever the client library: an
 * authentication or TLS refusal is a ConnectError (the task fails and is
 * restarted with backoff: retrying at once cannot help), anything else is a
 * NotConnectedError (retried). The message keeps the broker's own words.
 */
export function connectFailure(what: string, err: unknown): ConnectError {
  const parts = [...new Set(describe(err))];
  const text = parts.join(' ');
  const detail = parts.filter((p) => /\s/.test(p)).join(': ') || (err as Error)?.message || String(err);
  if (/SASLAuthentication|authentication failed|SASL_AUTHENTICATION_FAILED|ILLEGAL_SASL_STATE|UNSUPPORTED_SASL_MECHANISM|PLT_KFK_AUTHENTICATION/i.test(text)) {
    return new ConnectError(`${what} cannot authenticate to Kafka (check sasl.mechanism and sasl.jaas.config): ${detail}`, { cause: err });
  }
  if (/CERT_|certificate|self[- ]signed|ERR_TLS_|altname|wrong version number|SSL routines/i.test(text)) {
    return new ConnectError(
      `${what} cannot set up TLS with Kafka (check ssl.truststore.*, ssl.endpoint.identification.algorithm and security.protocol): ${detail}`,
      { cause: err },
    );
  }
  return new NotConnectedError(`${what} cannot reach Kafka: ${detail}`, { cause: err });
}
