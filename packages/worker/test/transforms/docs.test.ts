import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { builtinPredicates, builtinTransformations } from '../../src/transforms/index.js';

const doc = readFileSync(new URL('../../../../docs/transforms.md', import.meta.url), 'utf8');

/** The text of the `### Name` section. */
function section(name: string): string {
  const start = doc.search(new RegExp(`^### ${name}\\b`, 'm'));
  assert.ok(start >= 0, `docs/transforms.md has no section for ${name}`);
  const next = doc.slice(start + 4).search(/^##/m);
  return next < 0 ? doc.slice(start) : doc.slice(start, start + 4 + next);
}

describe('docs/transforms.md', () => {
  it('documents every built-in and each of its options', () => {
    for (const p of [...builtinTransformations, ...builtinPredicates]) {
      const text = section(p.className.replace(/\$(Key|Value)$/, ''));
      for (const k of p.config.describe()) assert.ok(text.includes(`\`${k.name}\``), `${p.className}: option ${k.name} is not documented`);
    }
  });
});
