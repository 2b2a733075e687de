// Every service the stack knows, in start order. To add a service, write
// services/<name>.mjs (default export: {name, port, address, up, down, status},
// usually built with lib/managed.mjs) and list it here.
import kafka from './kafka.mjs';

export const services = [kafka];
