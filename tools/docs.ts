/**
 * `npm run docs`: rewrites the generated option tables of README.md and
 * docs/connectors/*.md from the config declarations.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allPlugins } from '@ferry/connectors';
import { regionBody, renderRegions } from '../packages/worker/src/docs/option-docs.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const files = ['README.md', ...readdirSync(join(ROOT, 'docs/connectors')).filter((f) => f.endsWith('.md')).map((f) => `docs/connectors/${f}`)];
for (const f of files) {
  const path = join(ROOT, f);
  const before = readFileSync(path, 'utf8');
  const after = renderRegions(before, (id) => regionBody(id, allPlugins), f);
  if (after !== before) {
    writeFileSync(path, after);
    console.log(`updated ${f}`);
  }
}
