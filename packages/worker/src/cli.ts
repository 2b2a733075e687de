import { readFile } from 'node:fs/promises';
import { resolve } from "node:path";
import { Command } from 'commander';
import { StandaloneWorker, VERSION } from './worker.js';
import { WorkerConfigDef } from './config/worker-config.js';
import { hashSecret } from './rest/auth.js';
import { runDistributed } from './distributed/run.js';
import { runUntilSignalled } from './run-until-signalled.js';
import { boundHeapGrowth } from './heap-growth.js';

/** `connect-worker standalone <worker.json> [connector.json ...]` */
export async function main(argv: string[]): Promise<void> {
  boundHeapGrowth();
  const program = new Command();
  program.name('connect-worker').description('Runs source and sink connectors.').version(VERSION);
  program
    .command('standalone')
    .description('Run a standalone worker: offsets and configs in local files, connectors from files and the REST API.')
    .argument('<worker.json>', 'worker config file (JSON)')
    .argument('[connectors...]', 'connector files ({"name", "config"}) to deploy at start')
    .action(async (workerFile: string, connectorFiles: string[]) => {
      const workerConfig = JSON.parse(await readFile(workerFile, 'utf8')) as Record<string, unknown>;
      const worker = await StandaloneWorker.start({
        workerConfig,
        connectorFiles: connectorFiles.map((f) => resolve(f)),
        baseDir: process.env.FERRY_BASE_DIR ?? process.cwd(),
      });
      runUntilSignalled(worker);
    });
  program
    .command('distributed')
    .description('Run a worker of a cluster: configs, offsets and statuses in Kafka topics, work shared by the workers of group.id.')
    .argument('<worker.json>', 'worker config file (JSON)')
    .action(async (workerFile: string) => {
      const workerConfig = JSON.parse(await readFile(workerFile, 'utf8')) as Record<string, unknown>;
      await runDistributed(workerConfig);
    });
  program
    .command('options')
    .description('Print every worker option with its default and documentation.')
    .action(() => {
      for (const o of WorkerConfigDef.describe()) {
        process.stdout.write(`${o.name} (${o.type.toLowerCase()}, default ${o.default_value ?? 'none'})\n    ${o.documentation}\n`);
      }
    });
  program
    .command('hash-password')
    .description('Read a password on stdin and print its scrypt hash for rest.auth.credentials.file.')
    .action(async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const plain = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      if (!plain) throw new Error('No password on stdin');
      process.stdout.write(`${hashSecret(plain)}\n`);
    });
  await program.parseAsync(argv);
}

