#!/usr/bin/env node
// Bundles the web console (ui/) into dist/ui: static files the worker serves at /ui, no CDN at run time.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(PKG, 'dist/ui');
mkdirSync(OUT, { recursive: true });
await build({
  entryPoints: { app: join(PKG, 'ui/src/main.ts') },
  outdir: OUT,
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['es2020'],
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(join(PKG, 'ui/index.html'), join(OUT, 'index.html'));
