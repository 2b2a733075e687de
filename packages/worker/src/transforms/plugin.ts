import type { ConfigDef, Predicate, PredicatePlugin, Transformation, TransformationPlugin } from '@ferry/core';
import { KEY, TRANSFORMS_VERSION, VALUE, type Side } from './util.js';

const KAFKA_TRANSFORMS = 'org.apache.kafka.connect.transforms.';
const KAFKA_PREDICATES = 'org.apache.kafka.connect.transforms.predicates.';
const FERRY_TRANSFORMS = 'ferry.transforms.';
const FERRY_PREDICATES = 'ferry.transforms.predicates.';

interface TransformSpec {
  /** Our class name, e.g. `RegexRouter`. */
  name: string;
  description: string;
  config: ConfigDef<any>;
  /** Full class names this transform is also known by (besides `ferry.transforms.<name>`). */
  aliases?: string[];
  /** Set to false for a transform Kafka Connect does not ship. */
  kafka?: boolean;
  create(): Transformation;
}

/** A transformation plugin whose aliases include Kafka Connect's class name. */
export function transformPlugin(spec: TransformSpec): TransformationPlugin {
  const aliases = [...(spec.kafka === false ? [] : [KAFKA_TRANSFORMS + spec.name]), FERRY_TRANSFORMS + spec.name, ...(spec.aliases ?? [])];
  return {
    type: 'transformation',
    className: spec.name,
    aliases,
    version: TRANSFORMS_VERSION,
    description: spec.description,
    config: spec.config,
    create: spec.create,
  };
}

/** The `$Key` and `$Value` variants of a transform (Kafka Connect's nested classes). */
export function keyValuePlugins(spec: {
  name: string;
  description: string;
  config: ConfigDef<any>;
  create(side: Side): Transformation;
}): TransformationPlugin[] {
  return [KEY, VALUE].map((side) => {
    const suffix = side === KEY ? '$Key' : '$Value';
    return transformPlugin({
      name: spec.name + suffix,
      description: `${spec.description} Operates on the record ${side.name}.`,
      config: spec.config,
      create: () => spec.create(side),
    });
  });
}

export function predicatePlugin(spec: {
  name: string;
  description: string;
  config: ConfigDef<any>;
  create(): Predicate;
}): PredicatePlugin {
  return {
    type: 'predicate',
    className: spec.name,
    aliases: [KAFKA_PREDICATES + spec.name, FERRY_PREDICATES + spec.name],
    version: TRANSFORMS_VERSION,
    description: spec.description,
    config: spec.config,
    create: spec.create,
  };
}
