/** The option tables in README.md and docs/connectors/*.md are what the config declarations generate. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { allPlugins } from '@ferry/connectors';
import { optionTable, regionBody, regionIds, renderRegions } from '../src/docs/option-docs.js';
import { WorkerConfigDef } from '../src/config/worker-config.js';

const root = new URL('../../../', import.meta.url);
const files = ['README.md', ...readdirSync(new URL('docs/connectors/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/connectors/${f}`)];

describe('generated option docs', () => {
  it('every generated region matches its declaration (run `npm run docs` after changing one)', () => {
    for (const f of files) {
      const text = readFileSync(new URL(f, root), 'utf8');
      assert.equal(renderRegions(text, (id) => regionBody(id, allPlugins), f), text, `${f} has drifted from the config declarations: run npm run docs`);
    }
  });

  it('the README lists every worker option, and every connector with a docs page has its table', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    assert.ok(regionIds(readme).includes('worker-options'));
    for (const d of WorkerConfigDef.describe()) assert.ok(readme.includes(`| \`${d.name}\` |`), `README: worker option ${d.name}`);
    const documented = new Set(files.flatMap((f) => regionIds(readFileSync(new URL(f, root), 'utf8'))));
    for (const p of allPlugins) {
      if (p.className.startsWith('Datagen') || p.className.startsWith('FileStream')) continue; // demo connectors, documented in the README
      assert.ok(documented.has(`options:${p.className}`), `docs/connectors has no generated table for ${p.className}`);
    }
  });

  it('a changed declaration is drift', () => {
    const text = `x\n<!-- generated:worker-options (stale) -->\n| old |\n<!-- /generated -->\n`;
    const fresh = renderRegions(text, (id) => regionBody(id, allPlugins), 't.md');
    assert.notEqual(fresh, text);
    assert.ok(fresh.includes(optionTable(WorkerConfigDef)));
    assert.throws(() => renderRegions('<!-- generated:options:Nope (x) -->\n<!-- /generated -->', (id) => regionBody(id, allPlugins), 't.md'), /no generator/);
  });
});
