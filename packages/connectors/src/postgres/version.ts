import { FERRY_VERSION } from '@ferry/connector-kit';
/** Version reported by the PostgreSQL plugins (and in change events' `source.version`). */
export const VERSION = FERRY_VERSION;
