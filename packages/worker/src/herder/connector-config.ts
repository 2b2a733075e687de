import { Config, defineConfig, type FieldErrors } from '@ferry/core';
import { ErrorHandlingConfig } from '../runtime/error-handling.js';
import { compileJavaRegex } from '../transforms/java-regex.js';

/** Options every connector accepts, whatever its plugin (Kafka Connect's ConnectorConfig). */
export const CommonConnectorConfig = defineConfig({
  name: Config.string({ doc: 'Globally unique name of the connector.', nonEmpty: true, group: 'Common', importance: 'HIGH' }),
  'connector.class': Config.className({ doc: 'Class name or alias of the connector plugin.', group: 'Common', importance: 'HIGH' }),
  'tasks.max': Config.int({ doc: 'Maximum number of tasks the connector may create.', default: 1, min: 1, group: 'Common', importance: 'HIGH' }),
  'key.converter': Config.className({ doc: 'Converter of record keys; overrides the worker default.', optional: true, group: 'Common' }),
  'value.converter': Config.className({ doc: 'Converter of record values; overrides the worker default.', optional: true, group: 'Common' }),
  'header.converter': Config.className({ doc: 'Converter of header values; overrides the worker default.', optional: true, group: 'Common' }),
  transforms: Config.list({ doc: 'Aliases of the transformations to apply, in order.', default: [], group: 'Transforms' }),
  predicates: Config.list({ doc: 'Aliases of the predicates transformations may use.', default: [], group: 'Predicates' }),
  'config.action.reload': Config.enum(['restart', 'none'] as const, {
    doc: 'What to do when a config provider value changes (accepted for compatibility).',
    default: 'restart',
    group: 'Common',
  }),
}).merge(ErrorHandlingConfig);

/** Extra options of sink connectors. */
export const SinkConnectorConfig = defineConfig({
  topics: Config.list({ doc: 'Topics to consume.', default: [], group: 'Common', importance: 'HIGH' }),
  'topics.regex': Config.string({ doc: 'Java regular expression of topics to consume (the whole topic name must match); constructs without a JavaScript equivalent (possessive quantifiers, atomic groups, \\G, inline flags other than a leading (?i)/(?m)/(?s)) are rejected.', default: '', group: 'Common', importance: 'HIGH' }),
}).check((cfg, raw): FieldErrors | undefined => {
  const hasTopics = cfg.topics.length > 0;
  const hasRegex = cfg['topics.regex'] !== '';
  if (hasTopics && hasRegex) return { topics: ['topics and topics.regex are mutually exclusive options, but both are set.'] };
  if (!hasTopics && !hasRegex) return { topics: ['Must configure one of topics or topics.regex'] };
  if (hasRegex) {
    try {
      // the same Java-regex translation as the transforms; Java-only constructs are named
      compileJavaRegex(cfg['topics.regex'], { fullMatch: true });
    } catch (err) {
      return { 'topics.regex': [`Invalid regular expression: ${(err as Error).message}`] };
    }
  }
  const dlq = raw['errors.deadletterqueue.topic.name'];
  if (typeof dlq === 'string' && dlq && cfg.topics.includes(dlq)) {
    return { topics: [`The dead-letter queue topic ${dlq} may not be one of the consumed topics`] };
  }
  return undefined;
});
