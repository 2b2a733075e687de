#!/usr/bin/env node
// Local service stack for tests, demos and benchmarks.
//   node scripts/stack.mjs up [service ...]      start (idempotent); none = all
//   node scripts/stack.mjs down [service ...]    stop what this script started
//   node scripts/stack.mjs status [service ...]  show state
//   node scripts/stack.mjs kafka-tool topics --list   Kafka's CLI tools (see README)
// Plain Node (no dependencies) so it runs before `npm install`.
// See scripts/stack/README.md.
import { up, down, status, services } from './stack/index.mjs';

const USAGE = `usage: node scripts/stack.mjs <up|down|status> [service ...]
       node scripts/stack.mjs kafka-tool <topics|console-producer|console-consumer|consumer-groups|...|MainClass> [args ...]
services: ${services.map((s) => `${s.name} (${s.address})${s.optIn ? ' [opt-in]' : ''}`).join(', ')}`;

function line(r) {
  return `${r.name.padEnd(14)} ${String(r.address).padEnd(16)} ${r.state}${r.detail ? ` (${r.detail})` : ''}`;
}

async function main(argv) {
  const [cmd, ...names] = argv;
  const print = (r) => process.stdout.write(line(r) + '\n');
  switch (cmd) {
    case 'up':
    case 'down': {
      const fn = cmd === 'up' ? up : down;
      try {
        await fn(names, { onResult: print });
        return 0;
      } catch (err) {
        if (err.code === 'UNKNOWN_SERVICE') {
          process.stderr.write(`${err.message}\n`);
          return 2;
        }
        process.stderr.write(`\n${err.message}\n`);
        return 1;
      }
    }
    case 'status': {
      try {
        const results = await status(names);
        results.forEach(print);
        // With explicit names, exit 3 unless all of them run (handy in scripts).
        return names.length && results.some((r) => r.state !== 'running') ? 3 : 0;
      } catch (err) {
        process.stderr.write(`${err.message}\n`);
        return 2;
      }
    }
    case 'kafka-tool': {
      if (!names.length) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      const { kafkaToolInteractive } = await import('./stack/services/kafka.mjs');
      return kafkaToolInteractive(names[0], names.slice(1));
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE + '\n');
      return cmd ? 0 : 2;
    default:
      process.stderr.write(`unknown command "${cmd}"\n${USAGE}\n`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
