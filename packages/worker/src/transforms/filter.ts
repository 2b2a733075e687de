import { defineConfig, type Transformation } from '@ferry/core';
import { transformPlugin } from './plugin.js';

export const FilterConfig = defineConfig({});

/** Drops every record it is applied to: pair it with a predicate to drop some. */
class Filter implements Transformation {
  configure(config: Record<string, string>): void {
    FilterConfig.parse(config);
  }

  apply(): null {
    return null;
  }
}

export const filterPlugin = transformPlugin({
  name: 'Filter',
  description: 'Drops all records, filtering them from subsequent transformations in the chain. Use it with a predicate to drop records that match (or, negated, do not match) a condition.',
  config: FilterConfig,
  create: () => new Filter(),
});
