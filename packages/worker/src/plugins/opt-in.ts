import type { WorkerSettings } from '../config/worker-config.js';
import type { AnyPlugin } from './registry.js';

/** Bundled plugins loaded only when the operator enables them: they read and write the worker's file system. */
const OPT_IN = ['FileStreamSource', 'FileStreamSink'];

function names(p: AnyPlugin): string[] {
  return [p.className, ...((p as { aliases?: string[] }).aliases ?? [])];
}

/**
 * The bundled plugins this worker loads (FileStream only with
 * plugins.filestream.enable, or when plugin.path names it), and the
 * plugin.path entries left to import as modules.
 */
export function selectBundledPlugins(all: AnyPlugin[], settings: Pick<WorkerSettings, 'plugin.path' | 'plugins.filestream.enable'>): { plugins: AnyPlugin[]; external: string[] } {
  const named = new Set(settings['plugin.path']);
  const optIn = all.filter((p) => OPT_IN.includes(p.className));
  const plugins = all.filter((p) => !optIn.includes(p) || settings['plugins.filestream.enable'] || names(p).some((n) => named.has(n)));
  const optInNames = new Set(optIn.flatMap(names));
  return { plugins, external: settings['plugin.path'].filter((e) => !optInNames.has(e)) };
}
