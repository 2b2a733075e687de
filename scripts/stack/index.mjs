// Programmatic API of the local service stack (the CLI is scripts/stack.mjs):
//
//   import { up, down, status } from '../scripts/stack/index.mjs';
//   await up(['kafka', 'postgres']);   // resolves when all are ready, rejects otherwise
//   await down(['kafka']);             // stops only what the stack started
//
// Each function takes service names (none = all default services) and resolves
// to [{name, address, state, detail, ...}]. Progress goes to stderr unless
// {log: null} or another log function is passed.
import { services } from './services/registry.mjs';

export { services };

const defaultLog = (msg) => process.stderr.write(`${msg}\n`);

/** Services selected by name; none = every service that is not opt-in. */
export function select(names = []) {
  if (typeof names === 'string') names = [names];
  if (!names || names.length === 0) return services.filter((s) => !s.optIn);
  return names.map((n) => {
    const s = services.find((x) => x.name === n);
    if (!s) {
      throw Object.assign(new Error(`unknown service "${n}" (known: ${services.map((x) => x.name).join(', ')})`), { code: 'UNKNOWN_SERVICE' });
    }
    return s;
  });
}

async function each(list, fn, { parallel, onResult }) {
  const results = new Array(list.length);
  const runOne = async (svc, i) => {
    try {
      results[i] = await fn(svc);
    } catch (err) {
      results[i] = { name: svc.name, address: svc.address, state: 'failed', detail: err.message.split('\n')[0], error: err };
    }
    onResult?.(results[i]);
  };
  if (parallel) await Promise.all(list.map(runOne));
  else for (let i = 0; i < list.length; i++) await runOne(list[i], i);
  return results;
}

function failIfAny(results, verb) {
  const failed = results.filter((r) => r.state === 'failed');
  if (failed.length) {
    const err = new Error(`${verb} failed for ${failed.map((r) => r.name).join(', ')}:\n` + failed.map((r) => r.error?.message ?? r.detail).join('\n\n'));
    err.results = results;
    throw err;
  }
  return results;
}

/** Start the named services (idempotent). Rejects if any does not become ready. */
export async function up(names = [], { log = defaultLog, parallel = true, onResult } = {}) {
  const list = select(names);
  const results = await each(list, (s) => s.up({ log }), { parallel, onResult });
  return failIfAny(results, 'up');
}

/** Stop the named services that the stack started (none = all of them). */
export async function down(names = [], { log = defaultLog, parallel = true, onResult } = {}) {
  const list = names && names.length ? select(names) : services;
  const results = await each([...list].reverse(), (s) => s.down({ log }), { parallel, onResult });
  return failIfAny(results, 'down');
}

/** State of the named services (none = all). Never rejects for a stopped service. */
export async function status(names = [], { log = defaultLog, onResult } = {}) {
  const list = names && names.length ? select(names) : services;
  return each(list, (s) => s.status({ log }), { parallel: true, onResult });
}
