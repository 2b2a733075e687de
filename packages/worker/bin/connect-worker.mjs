#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size=8: on a large machine Node.js 24 sizes the young
// generation at up to 128 MiB, most of a busy worker's resident memory; 16 MiB
// costs no measurable CPU on the record paths. Launchers that run this file
// with `node` pass the same flag (scripts/start.mjs, the benchmarks). The
// old-space growth factor is set by the CLI itself (src/heap-growth.ts).
// Runs the compiled CLI; `--conditions=development` (tests) runs the sources through tsx instead.
const { main } = await import('../dist/cli.js');
await main(process.argv);
