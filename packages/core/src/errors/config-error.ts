import { ConnectError } from './connect-error.js';

/** Error messages by config field name. */
export type FieldErrors = Record<string, string[]>;

/**
 * A configuration is invalid. `fieldErrors` names every offending field so
 * REST answers and CLI lint can point at it.
 */
export class ConfigError extends ConnectError {
  readonly fieldErrors: FieldErrors;

  constructor(fieldErrors: FieldErrors, message?: string) {
    super(message ?? ConfigError.summarize(fieldErrors), { code: 'CONFIG_INVALID' });
    this.fieldErrors = fieldErrors;
  }

  static summarize(fieldErrors: FieldErrors): string {
    const parts = Object.entries(fieldErrors)
      .filter(([, errs]) => errs.length > 0)
      .map(([field, errs]) => `${field}: ${errs.join('; ')}`);
    return `Invalid configuration (${parts.length} error${parts.length === 1 ? '' : 's'}): ${parts.join(', ')}`;
  }
}
