// Preloaded (node --require) into the npm emulators that always listen on
// every interface (kinesis-local, kinesalite): makes them listen on
// STACK_BIND_HOST (default 127.0.0.1) instead of 0.0.0.0 / :: / unspecified.
'use strict';
const net = require('node:net');

const host = process.env.STACK_BIND_HOST || '127.0.0.1';
const wildcard = (h) => h == null || h === '' || h === '0.0.0.0' || h === '::';
const original = net.Server.prototype.listen;

net.Server.prototype.listen = function listen(...args) {
  const [first] = args;
  if (first && typeof first === 'object' && !Array.isArray(first) && first.path == null && first.fd == null && !(first instanceof net.Server)) {
    if (wildcard(first.host)) args[0] = { ...first, host };
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] !== 'string' || wildcard(args[1])) {
      if (typeof args[1] === 'string') args[1] = host;
      else args.splice(1, 0, host);
    }
  }
  return original.apply(this, args);
};
