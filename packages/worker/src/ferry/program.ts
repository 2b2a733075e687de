import { readFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { VERSION, loadExternalPlugins } from '../worker.js';
import { CliError, EXIT, FerryClient, enc } from './client.js';
import { readConnectorFiles, parseDocument } from './files.js';
import { configDiff, formatDiff, render, table, type OutputFormat } from './format.js';
import { addJobsCommands } from './jobs.js';
import { lintConnectors, runPipelineTests } from './offline.js';

export interface CliIO {
  out(s: string): void;
  err(s: string): void;
  /** stderr is a terminal: the progress indicator redraws one line. */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

export const processIO = (): CliIO => ({
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  isTTY: !!process.stderr.isTTY,
  env: process.env,
});

interface GlobalOpts {
  url: string;
  user?: string;
  token?: string;
  output: OutputFormat;
  timeout: string;
}

type Status = { name: string; type: string; connector: { state: string; worker_id: string; trace?: string; message?: string }; tasks: Array<{ id: number; state: string; worker_id: string; trace?: string; message?: string }> };

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Polls a connector's status until it reaches `target`, drawing a progress line; FAILED or the deadline ends the wait with EXIT.WAIT_FAILED. */
async function waitForState(client: FerryClient, name: string, target: 'RUNNING' | 'PAUSED' | 'STOPPED', timeoutMs: number, io: CliIO): Promise<Status> {
  const started = Date.now();
  let last = '';
  let i = 0;
  for (;;) {
    const r = await client.raw<Status>('GET', `/connectors/${enc(name)}/status`);
    let summary = r.status === 200 ? '' : `status ${r.status}`;
    if (r.status === 200) {
      const s = r.body;
      const inTarget = s.tasks.filter((t) => t.state === target).length;
      summary = `${s.connector.state}, tasks ${inTarget}/${s.tasks.length} ${target}`;
      const done =
        s.connector.state === target && (target === 'STOPPED' || (s.tasks.length > 0 && inTarget === s.tasks.length));
      const failed = [s.connector, ...s.tasks].find((x) => x.state === 'FAILED');
      if (!io.isTTY && summary !== last) io.err(`waiting for ${name} to be ${target}: ${summary}\n`);
      last = summary;
      if (done || failed) {
        if (io.isTTY) io.err('\r\x1b[K');
        if (failed) {
          const which = 'id' in failed ? `task ${(failed as { id: number }).id}` : 'connector';
          throw new CliError(`${name}: ${which} FAILED: ${(failed.trace ?? failed.message ?? '').split('\n')[0]}`, EXIT.WAIT_FAILED);
        }
        io.err(`${name} is ${target} (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
        return s;
      }
    } else if (r.status !== 404) {
      throw new CliError(`GET /connectors/${name}/status: ${r.status}`, r.status === 401 || r.status === 403 ? EXIT.AUTH : EXIT.ERROR);
    }
    const elapsed = ((Date.now() - started) / 1000).toFixed(0);
    if (io.isTTY) io.err(`\r\x1b[K${SPIN[i++ % SPIN.length]} waiting for ${name} to be ${target}: ${summary} (${elapsed}s)`);
    else if (summary !== last) io.err(`waiting for ${name} to be ${target}: ${summary}\n`);
    last = summary;
    if (Date.now() - started > timeoutMs) {
      if (io.isTTY) io.err('\n');
      throw new CliError(`${name} did not become ${target} within ${timeoutMs} ms (${summary})`, EXIT.WAIT_FAILED);
    }
    await new Promise((res) => setTimeout(res, 300));
  }
}

function stateCell(s: { state: string }): string {
  return s.state === 'FAILED' ? 'FAILED!' : s.state;
}

function describeTable(info: { name: string; type: string; config: Record<string, string> }, status: Status, offsets: { offsets: unknown[] } | null, topics: string[]): string {
  const lines = [
    `Name:     ${info.name}`,
    `Type:     ${info.type}`,
    `Class:    ${info.config['connector.class'] ?? ''}`,
    `State:    ${status.connector.state} on ${status.connector.worker_id}`,
  ];
  if (status.connector.message) lines.push(`Message:  ${status.connector.message}`);
  if (status.connector.trace) lines.push('Trace:', ...status.connector.trace.split('\n').map((l) => `  ${l}`));
  lines.push('Config:');
  for (const k of Object.keys(info.config).sort()) lines.push(`  ${k} = ${info.config[k]}`);
  lines.push(`Tasks (${status.tasks.length}):`);
  for (const t of status.tasks) {
    lines.push(`  ${t.id}  ${stateCell(t)}  ${t.worker_id}${t.message ? `  ${t.message}` : ''}`);
    if (t.trace) lines.push(...t.trace.split('\n').map((l) => `      ${l}`));
  }
  lines.push(`Topics:   ${topics.join(', ') || '-'}`);
  lines.push('Offsets:');
  if (!offsets) lines.push('  (not readable)');
  else if (offsets.offsets.length === 0) lines.push('  (none)');
  else for (const o of offsets.offsets as Array<{ partition: unknown; offset: unknown }>) lines.push(`  ${JSON.stringify(o.partition)} -> ${JSON.stringify(o.offset)}`);
  return lines.join('\n') + '\n';
}

async function secretKeys(client: FerryClient, cls: string | undefined): Promise<Set<string>> {
  if (!cls) return new Set();
  const r = await client.raw<Array<{ name: string; type: string }>>('GET', `/connector-plugins/${enc(cls)}/config`);
  return new Set(r.status === 200 && Array.isArray(r.body) ? r.body.filter((d) => d.type === 'PASSWORD').map((d) => d.name) : []);
}

async function extraPlugins(list: string | undefined) {
  const entries = (list ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  try {
    return await loadExternalPlugins(entries, process.cwd());
  } catch (err) {
    throw new CliError(`--plugin-path: ${(err as Error).message}`, EXIT.USAGE);
  }
}

/** Builds the `ferry` program; `run` parses and executes, returning the exit code. */
export function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command();
  const env = io.env;
  program
    .name('ferry')
    .description('Manage Ferry workers (REST API) and test pipelines offline.')
    .version(VERSION)
    .addOption(new Option('--url <url>', 'worker REST URL').env('FERRY_URL').default('http://127.0.0.1:8083'))
    .addOption(new Option('--user <user[:password]>', 'Basic auth user (password after a colon, or in FERRY_PASSWORD)').env('FERRY_USER'))
    .addOption(new Option('--token <token>', 'Bearer token').env('FERRY_TOKEN'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).env('FERRY_OUTPUT').default('table'))
    .addOption(new Option('--timeout <ms>', 'how long --wait waits').default('120000'))
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();
  // commander reads env vars from process.env; tests pass their own.
  for (const [flag, name] of [['url', 'FERRY_URL'], ['user', 'FERRY_USER'], ['token', 'FERRY_TOKEN'], ['output', 'FERRY_OUTPUT']] as const) {
    if (env[name] !== undefined && env !== process.env) program.setOptionValueWithSource(flag, env[name], 'env');
  }
  const g = () => program.opts<GlobalOpts>();
  const client = () => {
    const o = g();
    return new FerryClient({ url: o.url, user: o.user, password: env.FERRY_PASSWORD, token: o.token });
  };
  const out = (data: unknown, asTable: () => string) => io.out(render(g().output, data, asTable));
  const waitMs = () => Number(g().timeout);

  const get = program.command('get').description('List connectors or plugins.');
  get
    .command('connectors')
    .description('Connectors with type, state and tasks (failed tasks marked).')
    .action(async () => {
      const c = client();
      const all = await c.call<Record<string, { status: Status; info: { config: Record<string, string>; type: string } }>>('GET', '/connectors?expand=status&expand=info');
      const rows = Object.entries(all)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, e]) => {
          const tasks = e.status?.tasks ?? [];
          const failed = tasks.filter((t) => t.state === 'FAILED').length;
          return {
            name,
            type: e.info?.type ?? e.status?.type,
            state: e.status?.connector.state,
            tasks: `${tasks.filter((t) => t.state === 'RUNNING').length}/${tasks.length}`,
            failed,
            class: e.info?.config['connector.class'],
          };
        });
      out(g().output === 'table' ? rows : all, () => table(['name', 'type', 'state', 'tasks', 'failed', 'class'], rows.map((r) => [r.name, r.type, r.state, r.tasks, r.failed ? `${r.failed}!` : '0', r.class])));
    });
  get
    .command('plugins')
    .description('Installed plugins.')
    .option('--all', 'also converters, transforms and predicates')
    .action(async (o: { all?: boolean }) => {
      const list = await client().call<Array<{ class: string; type: string; version: string }>>('GET', `/connector-plugins?connectorsOnly=${o.all ? 'false' : 'true'}`);
      out(list, () => table(['class', 'type', 'version'], list.map((p) => [p.class, p.type, p.version])));
    });

  program
    .command('describe')
    .description('Config, tasks with their traces, topics and offsets of a connector.')
    .argument('<name>')
    .action(async (name: string) => {
      const c = client();
      const [info, status, topics] = await Promise.all([
        c.call('GET', `/connectors/${enc(name)}`),
        c.call<Status>('GET', `/connectors/${enc(name)}/status`),
        c.call<Record<string, { topics: string[] }>>('GET', `/connectors/${enc(name)}/topics`),
      ]);
      const off = await c.raw<{ offsets: unknown[] }>('GET', `/connectors/${enc(name)}/offsets`);
      const offsets = off.status === 200 ? off.body : null;
      const t = topics[name]?.topics ?? [];
      out({ ...info, status, topics: t, offsets: offsets?.offsets ?? null }, () => describeTable(info, status, offsets, t));
    });

  program
    .command('apply')
    .description('Create or update connectors from files (JSON or YAML {name, config}); shows the diff first.')
    .requiredOption('-f, --file <path>', 'a connector file or a folder of them')
    .option('--dry-run', 'show the diff and validate, change nothing')
    .option('--wait', 'wait until every applied connector is RUNNING')
    .action(async (o: { file: string; dryRun?: boolean; wait?: boolean }) => {
      const c = client();
      const files = await readConnectorFiles(o.file).catch((err: Error) => {
        throw new CliError(err.message, EXIT.USAGE);
      });
      if (files.length === 0) throw new CliError(`No connector files in ${o.file}`, EXIT.USAGE);
      const results: Array<{ name: string; file: string; action: string; changes: unknown[]; errors?: string[] }> = [];
      let invalid = false;
      for (const f of files) {
        const cur = await c.raw<Record<string, string>>('GET', `/connectors/${enc(f.name)}/config`);
        if (cur.status !== 200 && cur.status !== 404) await c.call('GET', `/connectors/${enc(f.name)}/config`);
        const current = cur.status === 200 ? cur.body : undefined;
        const changes = configDiff(current, f.config, await secretKeys(c, f.config['connector.class']));
        const action = !current ? 'create' : changes.length ? 'update' : 'unchanged';
        io.err(formatDiff(f.name, !current, changes));
        const entry: (typeof results)[number] = { name: f.name, file: f.file, action, changes };
        if (o.dryRun) {
          const v = await c.call<{ error_count: number; configs: Array<{ value: { name: string; errors: string[] } }> }>(
            'PUT',
            `/connector-plugins/${enc(f.config['connector.class'] ?? 'unknown')}/config/validate`,
            { ...f.config, name: f.name },
          );
          entry.errors = v.configs.flatMap((x) => x.value.errors.map((e) => `${x.value.name}: ${e}`));
          if (entry.errors.length) {
            invalid = true;
            for (const e of entry.errors) io.err(`    ! ${e}\n`);
          }
        } else if (action !== 'unchanged') {
          await c.call('PUT', `/connectors/${enc(f.name)}/config`, f.config);
        }
        results.push(entry);
      }
      if (!o.dryRun && o.wait) for (const f of files) await waitForState(c, f.name, 'RUNNING', waitMs(), io);
      out(results, () => table(['name', 'action', 'changes', 'file'], results.map((r) => [r.name, o.dryRun ? `${r.action} (dry run)` : r.action, r.changes.length, r.file])));
      if (invalid) setExit(EXIT.INVALID);
    });

  program
    .command('delete')
    .description('Delete a connector.')
    .argument('<name>')
    .action(async (name: string) => {
      await client().call('DELETE', `/connectors/${enc(name)}`);
      io.err(`${name} deleted\n`);
    });

  program
    .command('restart')
    .description('Restart a connector (with --failed: only its failed tasks and connector; --task: one task).')
    .argument('<name>')
    .option('--failed', 'only the failed connector and tasks')
    .option('--tasks', 'the connector and all its tasks')
    .option('--task <id>', 'one task')
    .option('--wait', 'wait until RUNNING')
    .action(async (name: string, o: { failed?: boolean; tasks?: boolean; task?: string; wait?: boolean }) => {
      const c = client();
      if (o.task !== undefined) await c.call('POST', `/connectors/${enc(name)}/tasks/${enc(o.task)}/restart`);
      else {
        const q = o.failed ? '?includeTasks=true&onlyFailed=true' : o.tasks ? '?includeTasks=true' : '';
        await c.call('POST', `/connectors/${enc(name)}/restart${q}`);
      }
      io.err(`${name} restarted\n`);
      if (o.wait) await waitForState(c, name, 'RUNNING', waitMs(), io);
    });

  for (const [cmd, verb, target, doc] of [
    ['pause', 'pause', 'PAUSED', 'Pause a connector and its tasks.'],
    ['resume', 'resume', 'RUNNING', 'Resume a paused or stopped connector.'],
    ['stop', 'stop', 'STOPPED', 'Stop a connector (its offsets can then be changed).'],
  ] as const) {
    program
      .command(cmd)
      .description(doc)
      .argument('<name>')
      .option('--wait', `wait until ${target}`)
      .action(async (name: string, o: { wait?: boolean }) => {
        const c = client();
        await c.call('PUT', `/connectors/${enc(name)}/${verb}`);
        io.err(`${name}: ${cmd} requested\n`);
        if (o.wait) await waitForState(c, name, target, waitMs(), io);
      });
  }

  addJobsCommands(program, { client, out, err: io.err, isTTY: io.isTTY, waitMs });

  const offsets = program.command('offsets').description('Read, set or reset offsets (set/reset need a STOPPED connector).');
  offsets
    .command('get')
    .argument('<name>')
    .action(async (name: string) => {
      const r = await client().call<{ offsets: Array<{ partition: unknown; offset: unknown }> }>('GET', `/connectors/${enc(name)}/offsets`);
      out(r, () => table(['partition', 'offset'], r.offsets.map((o) => [JSON.stringify(o.partition), JSON.stringify(o.offset)])));
    });
  offsets
    .command('set')
    .description('Set offsets from a file ({"offsets": [{partition, offset}]}, JSON or YAML) or one --partition/--offset pair.')
    .argument('<name>')
    .option('-f, --file <file>', 'offsets file')
    .option('--partition <json>', 'partition, e.g. {"kafka_topic":"t","kafka_partition":0}')
    .option('--offset <json>', 'offset, e.g. {"kafka_offset":10}; null resets the partition')
    .action(async (name: string, o: { file?: string; partition?: string; offset?: string }) => {
      let body: unknown;
      try {
        if (o.file) body = parseDocument(await readFile(o.file, 'utf8'), o.file);
        else if (o.partition && o.offset !== undefined) body = { offsets: [{ partition: JSON.parse(o.partition), offset: JSON.parse(o.offset) }] };
        else throw new Error('give -f <file>, or --partition and --offset');
      } catch (err) {
        throw new CliError((err as Error).message, EXIT.USAGE);
      }
      const r = await client().call<{ message: string }>('PATCH', `/connectors/${enc(name)}/offsets`, body);
      out(r, () => `${r.message}\n`);
    });
  offsets
    .command('reset')
    .argument('<name>')
    .action(async (name: string) => {
      const r = await client().call<{ message: string }>('DELETE', `/connectors/${enc(name)}/offsets`);
      out(r, () => `${r.message}\n`);
    });

  program
    .command('validate')
    .description("Validate connector files against the worker's plugins (nothing is created).")
    .requiredOption('-f, --file <path>', 'a connector file or a folder of them')
    .action(async (o: { file: string }) => {
      const c = client();
      const files = await readConnectorFiles(o.file).catch((err: Error) => {
        throw new CliError(err.message, EXIT.USAGE);
      });
      const problems: Array<{ connector: string; file: string; option: string; message: string }> = [];
      for (const f of files) {
        const v = await c.call<{ configs: Array<{ value: { name: string; errors: string[] } }> }>(
          'PUT',
          `/connector-plugins/${enc(f.config['connector.class'] ?? 'unknown')}/config/validate`,
          { ...f.config, name: f.name },
        );
        for (const x of v.configs) for (const message of x.value.errors) problems.push({ connector: f.name, file: f.file, option: x.value.name, message });
      }
      out({ files: files.length, problems }, () =>
        problems.length ? table(['connector', 'option', 'message'], problems.map((p) => [p.connector, p.option, p.message])) : `${files.length} file(s) valid\n`,
      );
      if (problems.length) setExit(EXIT.INVALID);
    });

  program
    .command('logs')
    .description('Show logger levels, or set one: ferry logs connector.orders DEBUG')
    .argument('[logger]')
    .argument('[level]')
    .action(async (logger?: string, level?: string) => {
      const c = client();
      if (logger && level) {
        const changed = await c.call<string[]>('PUT', `/admin/loggers/${enc(logger)}`, { level });
        out(changed, () => `${changed.join('\n')}\n`);
        return;
      }
      const all = logger ? { [logger]: await c.call('GET', `/admin/loggers/${enc(logger)}`) } : await c.call<Record<string, { level: string; last_modified: number | null }>>('GET', '/admin/loggers');
      out(all, () =>
        table(['logger', 'level', 'last modified'], Object.entries(all).map(([n, e]) => [n, e.level, e.last_modified ? new Date(e.last_modified).toISOString() : ''])),
      );
    });

  program
    .command('test')
    .description('Run pipeline tests (*.test.yaml|yml|json) offline: no worker, no servers.')
    .argument('<path>', 'a test file or a folder of them')
    .option('--plugin-path <modules>', 'extra plugins, as the worker option plugin.path (comma-separated)')
    .action(async (path: string, o: { pluginPath?: string }) => {
      const results = await runPipelineTests(path, await extraPlugins(o.pluginPath)).catch((err: Error) => {
        throw new CliError(err.message, EXIT.USAGE);
      });
      if (results.length === 0) throw new CliError(`No test files (*.test.yaml|yml|json) in ${path}`, EXIT.USAGE);
      out(results, () =>
        results.map((r) => `${r.passed ? 'PASS' : 'FAIL'}  ${r.name}  (${r.file})\n${r.failures.map((f) => `      ${f}\n`).join('')}`).join('') +
        `${results.filter((r) => r.passed).length}/${results.length} passed\n`,
      );
      if (results.some((r) => !r.passed)) setExit(EXIT.TEST_FAILED);
    });

  program
    .command('lint')
    .description("Check connector files against the plugins' definitions, offline (no worker, no I/O checks).")
    .argument('<path>', 'a connector file or a folder of them')
    .option('--plugin-path <modules>', 'extra plugins, as the worker option plugin.path (comma-separated)')
    .action(async (path: string, o: { pluginPath?: string }) => {
      const r = await lintConnectors(path, {}, await extraPlugins(o.pluginPath)).catch((err: Error) => {
        throw new CliError(err.message, EXIT.USAGE);
      });
      out(r, () =>
        r.problems.length
          ? table(['file', 'connector', 'option', 'message'], r.problems.map((p) => [p.file, p.connector, p.option, p.message]))
          : `${r.files} file(s) valid\n`,
      );
      if (r.problems.length) setExit(EXIT.INVALID);
    });
  return program;
}

/** Runs `ferry` with these arguments (argv[0..1] are node and the script) and returns the exit code. */
export async function runFerry(argv: string[], io: CliIO = processIO()): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, (c) => (code = c));
  program.commands.forEach(function override(cmd: Command) {
    cmd.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
    cmd.commands.forEach(override);
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (err instanceof CliError) {
      io.err(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.err(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.ERROR;
  }
  return code;
}
