import { ConnectError } from '@ferry/core';

/** A REST-level failure with its HTTP status (Kafka Connect's ConnectRestException). */
export class RestError extends ConnectError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message, { code: status === 404 ? 'NOT_FOUND' : status === 409 ? 'CONFLICT' : 'BAD_REQUEST' });
  }
}

export const notFound = (what: string) => new RestError(404, what);
export const conflict = (what: string) => new RestError(409, what);
export const badRequest = (what: string) => new RestError(400, what);
