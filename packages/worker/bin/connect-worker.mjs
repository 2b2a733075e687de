#!/usr/bin/env node
// Runs the compiled CLI; `--conditions=development` (tests) runs the sources through tsx instead.
const { main } = await import('../dist/cli.js');
await main(process.argv);
