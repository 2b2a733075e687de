#!/usr/bin/env node
// The `ferry` CLI, compiled; `--conditions=development` (tests) runs src/ferry-bin.ts through tsx instead.
const { runFerry } = await import('../dist/ferry/program.js');
process.exitCode = await runFerry(process.argv);
