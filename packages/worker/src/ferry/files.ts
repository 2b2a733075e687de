import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConnectorFile } from '../deploy/connector-files.js';

export interface ConnectorFile {
  file: string;
  name: string;
  config: Record<string, string>;
}

const CONNECTOR_EXT = new Set(['.json', '.yaml', '.yml']);

/** Parses JSON or YAML text by the file's extension. */
export function parseDocument(text: string, file: string): unknown {
  const ext = extname(file).toLowerCase();
  try {
    return ext === '.yaml' || ext === '.yml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
}

/** The files a path names: the file itself, or a folder's files with these extensions (sorted, recursively). */
export async function listFiles(path: string, accept: (name: string) => boolean): Promise<string[]> {
  const s = await stat(path);
  if (!s.isDirectory()) return [path];
  const out: string[] = [];
  for (const e of (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, accept)));
    else if (accept(e.name)) out.push(p);
  }
  return out;
}

export const isConnectorFile = (name: string) => CONNECTOR_EXT.has(extname(name).toLowerCase()) && !/\.test\.(json|ya?ml)$/i.test(name);
export const isTestFile = (name: string) => /\.test\.(json|ya?ml)$/i.test(name);

/** Reads connector files (`{"name", "config"}`, JSON or YAML), the shape the worker deploys from its folder. */
export async function readConnectorFiles(path: string): Promise<ConnectorFile[]> {
  const out: ConnectorFile[] = [];
  for (const file of await listFiles(path, isConnectorFile)) {
    const doc = parseDocument(await readFile(file, 'utf8'), file);
    out.push({ file, ...parseConnectorFile(JSON.stringify(doc), file) });
  }
  return out;
}
