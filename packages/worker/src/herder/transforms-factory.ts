import type { FieldErrors } from '@ferry/core';
import type { PluginRegistry } from '../plugins/registry.js';
import type { RecordTransformer } from '../runtime/transform-chain.js';
import { TransformChain, validateTransforms } from '../transforms/index.js';
import type { TransformsFactory } from './deps.js';

/** Builds transform chains from a connector's `transforms` / `predicates` options, with plugins from the registry. */
export function transformsFactory(registry: PluginRegistry): TransformsFactory {
  return {
    build(config: Record<string, string>): RecordTransformer {
      return TransformChain.fromConfig(config, registry);
    },
    validate(config: Record<string, string>): FieldErrors {
      return validateTransforms(config, registry);
    },
  };
}
