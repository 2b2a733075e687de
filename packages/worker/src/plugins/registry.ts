import type {
  ConnectorPlugin,
  ConverterPlugin,
  HeaderConverterPlugin,
  PredicatePlugin,
  TransformationPlugin,
} from '@ferry/core';

export type AnyPlugin = ConnectorPlugin<any> | ConverterPlugin | HeaderConverterPlugin | TransformationPlugin | PredicatePlugin;
export type PluginKind = 'source' | 'sink' | 'converter' | 'header_converter' | 'transformation' | 'predicate';

/** What `GET /connector-plugins` lists for each plugin. */
export interface PluginListing {
  class: string;
  type: PluginKind;
  version: string;
}

/**
 * Every plugin the worker can use, looked up by class name or alias. Built
 * from explicit lists (the bundled ones, plus npm packages or paths named in
 * `plugin.path`), never by scanning.
 */
export class PluginRegistry {
  private readonly byName = new Map<string, AnyPlugin>();
  private readonly all: AnyPlugin[] = [];

  constructor(plugins: Iterable<AnyPlugin> = []) {
    for (const p of plugins) this.add(p);
  }

  add(plugin: AnyPlugin): this {
    const names = [plugin.className, ...(plugin.aliases ?? [])];
    for (const n of names) {
      const prev = this.byName.get(n);
      if (prev && prev !== plugin) throw new Error(`Plugin name ${n} is claimed by both ${prev.className} and ${plugin.className}`);
      this.byName.set(n, plugin);
    }
    this.all.push(plugin);
    return this;
  }

  /** Finds a plugin by class name, alias, or the last segment of a dotted class name. */
  find(name: string): AnyPlugin | undefined {
    const trimmed = name.trim();
    return this.byName.get(trimmed) ?? this.byName.get(trimmed.slice(trimmed.lastIndexOf('.') + 1));
  }

  connector(name: string): ConnectorPlugin<any> | undefined {
    const p = this.find(name);
    return p && (p.type === 'source' || p.type === 'sink') ? (p as ConnectorPlugin<any>) : undefined;
  }

  converter(name: string): ConverterPlugin | undefined {
    const p = this.find(name);
    return p?.type === 'converter' ? p : undefined;
  }

  headerConverter(name: string): HeaderConverterPlugin | undefined {
    const p = this.find(name);
    return p?.type === 'header_converter' ? p : undefined;
  }

  transformation(name: string): TransformationPlugin | undefined {
    const p = this.find(name);
    return p?.type === 'transformation' ? p : undefined;
  }

  predicate(name: string): PredicatePlugin | undefined {
    const p = this.find(name);
    return p?.type === 'predicate' ? p : undefined;
  }

  list(connectorsOnly: boolean): PluginListing[] {
    return this.all
      .filter((p) => !connectorsOnly || p.type === 'source' || p.type === 'sink')
      .map((p) => ({ class: p.className, type: p.type, version: p.version }))
      .sort((a, b) => a.class.localeCompare(b.class));
  }
}
