import { Config, defineConfig, type ConnectRecord, type Predicate } from '@ferry/core';
import { compileJavaRegex, javaRegexError } from './java-regex.js';
import { predicatePlugin } from './plugin.js';

// --------------------------------------------------------- TopicNameMatches

export const TopicNameMatchesConfig = defineConfig({
  pattern: Config.string({
    doc: 'A Java regular expression for matching against the name of a record\'s topic (the whole name must match).',
    importance: 'MEDIUM',
    nonEmpty: true,
  }),
}).check((cfg) => {
  const err = javaRegexError(cfg.pattern);
  return err ? { pattern: [`Invalid regex: ${err}`] } : undefined;
});

const CACHE_LIMIT = 1000;

class TopicNameMatches implements Predicate {
  private re!: RegExp;
  private readonly answers = new Map<string, boolean>();

  configure(config: Record<string, string>): void {
    this.re = compileJavaRegex(TopicNameMatchesConfig.parse(config).pattern, { fullMatch: true });
  }

  test(record: ConnectRecord): boolean {
    let hit = this.answers.get(record.topic);
    if (hit === undefined) {
      hit = this.re.test(record.topic);
      if (this.answers.size >= CACHE_LIMIT) this.answers.clear();
      this.answers.set(record.topic, hit);
    }
    return hit;
  }
}

export const topicNameMatchesPlugin = predicatePlugin({
  name: 'TopicNameMatches',
  description: 'A predicate which is true for records with a topic name that matches the configured regular expression.',
  config: TopicNameMatchesConfig,
  create: () => new TopicNameMatches(),
});

// ------------------------------------------------------------- HasHeaderKey

export const HasHeaderKeyConfig = defineConfig({
  name: Config.string({ doc: 'The header name.', importance: 'MEDIUM', nonEmpty: true }),
});

class HasHeaderKey implements Predicate {
  private name = '';

  configure(config: Record<string, string>): void {
    this.name = HasHeaderKeyConfig.parse(config).name;
  }

  test(record: ConnectRecord): boolean {
    const hs = record.headers;
    if (!hs) return false;
    for (let i = 0; i < hs.length; i++) if (hs[i].key === this.name) return true;
    return false;
  }
}

export const hasHeaderKeyPlugin = predicatePlugin({
  name: 'HasHeaderKey',
  description: 'A predicate which is true for records with at least one header with the configured name.',
  config: HasHeaderKeyConfig,
  create: () => new HasHeaderKey(),
});

// -------------------------------------------------------- RecordIsTombstone

export const RecordIsTombstoneConfig = defineConfig({});

class RecordIsTombstone implements Predicate {
  configure(config: Record<string, string>): void {
    RecordIsTombstoneConfig.parse(config);
  }

  test(record: ConnectRecord): boolean {
    return record.value === null || record.value === undefined;
  }
}

export const recordIsTombstonePlugin = predicatePlugin({
  name: 'RecordIsTombstone',
  description: 'A predicate which is true for records which are tombstones (i.e. have null value).',
  config: RecordIsTombstoneConfig,
  create: () => new RecordIsTombstone(),
});
