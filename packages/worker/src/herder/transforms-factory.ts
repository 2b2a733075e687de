import type { FieldErrors } from '@ferry/core';
import type { PluginRegistry } from '../plugins/registry.js';
import { noTransforms, type RecordTransformer } from '../runtime/transform-chain.js';
import type { TransformsFactory } from './task-factory.js';

/** Builds transform chains from a connector's `transforms` / `predicates` options. */
export function transformsFactory(_registry: PluginRegistry): TransformsFactory {
  return {
    build(config: Record<string, string>): RecordTransformer {
      if ((config.transforms ?? '').trim()) throw new Error('transforms are not available in this build');
      return noTransforms;
    },
    validate(config: Record<string, string>): FieldErrors {
      return (config.transforms ?? '').trim() ? { transforms: ['transforms are not available in this build'] } : {};
    },
  };
}
