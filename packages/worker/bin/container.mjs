#!/usr/bin/env node
// The container image's entry point. Arguments run the CLI as given
// (`standalone <worker.json> ...`, `distributed <worker.json>`, `options`).
// Without arguments: a cluster worker when CONNECT_GROUP_ID is set, else a
// standalone worker with the demo pipelines.
const args = process.argv.slice(2);
const command =
  args.length > 0
    ? args
    : process.env.CONNECT_GROUP_ID
      ? ['distributed', process.env.FERRY_WORKER_CONFIG ?? 'configs/worker-container.json']
      : ['standalone', process.env.FERRY_WORKER_CONFIG ?? 'configs/worker.json'];
const { main } = await import('../dist/cli.js');
await main([process.argv[0], process.argv[1], ...command]);
