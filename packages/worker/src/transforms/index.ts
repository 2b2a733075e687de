/**
 * Single-message transforms and predicates: Kafka Connect's built-ins (under
 * our short class names, with Kafka Connect's class names as aliases), an
 * ExtractNewRecordState for change events, and the chain that applies them.
 */
import type { PredicatePlugin, TransformationPlugin } from '@ferry/core';
import { castPlugins } from './cast.js';
import { createTransformLookup, type TransformLookup } from './chain.js';
import { extractFieldPlugins } from './extract-field.js';
import { extractNewRecordStatePlugin } from './extract-new-record-state.js';
import { filterPlugin } from './filter.js';
import { flattenPlugins } from './flatten.js';
import { dropHeadersPlugin, headerFromPlugins, insertHeaderPlugin } from './headers.js';
import { hoistFieldPlugins } from './hoist-field.js';
import { insertFieldPlugins } from './insert-field.js';
import { maskFieldPlugins } from './mask-field.js';
import { hasHeaderKeyPlugin, recordIsTombstonePlugin, topicNameMatchesPlugin } from './predicates.js';
import { regexRouterPlugin } from './regex-router.js';
import { replaceFieldPlugins } from './replace-field.js';
import { setSchemaMetadataPlugins } from './set-schema-metadata.js';
import { timestampConverterPlugins } from './timestamp-converter.js';
import { timestampRouterPlugin } from './timestamp-router.js';
import { valueToKeyPlugin } from './value-to-key.js';

export const builtinTransformations: TransformationPlugin[] = [
  ...insertFieldPlugins,
  ...replaceFieldPlugins,
  ...maskFieldPlugins,
  valueToKeyPlugin,
  ...extractFieldPlugins,
  ...hoistFieldPlugins,
  ...setSchemaMetadataPlugins,
  timestampRouterPlugin,
  regexRouterPlugin,
  ...flattenPlugins,
  ...castPlugins,
  ...timestampConverterPlugins,
  filterPlugin,
  ...headerFromPlugins,
  insertHeaderPlugin,
  dropHeadersPlugin,
  extractNewRecordStatePlugin,
];

export const builtinPredicates: PredicatePlugin[] = [topicNameMatchesPlugin, hasHeaderKeyPlugin, recordIsTombstonePlugin];

/** Looks up the built-in transformations and predicates by class name or alias. */
export const builtinTransformLookup: TransformLookup = createTransformLookup(builtinTransformations, builtinPredicates);

export { TransformChain, TransformationError, createTransformLookup, describeTransforms, validateTransforms } from './chain.js';
export type { TransformLookup } from './chain.js';
export { compileDateFormat, type DateFormat } from './simple-date-format.js';
