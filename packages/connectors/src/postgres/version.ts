/** Version reported by the PostgreSQL plugins (and in change events' `source.version`). */
export const VERSION = '0.1.0';
