import { Config, type FieldErrors, defineConfig, type ConnectRecord, type Transformation } from '@ferry/core';
import { JavaReplacement, compileJavaRegex, groupCount, javaRegexError } from './java-regex.js';
import { transformPlugin } from './plugin.js';
import { withTopic } from './util.js';

export const RegexRouterConfig = defineConfig({
  regex: Config.string({ doc: 'Regular expression to use for matching (Java syntax, matched against the whole topic).', importance: 'HIGH' }),
  replacement: Config.string({ doc: 'Replacement string, with `$1`-style references to the regex groups.', importance: 'HIGH' }),
}).check((cfg): FieldErrors | undefined => {
  const err = javaRegexError(cfg.regex);
  if (err) return { regex: [`Invalid regex: ${err}`] };
  try {
    new JavaReplacement(cfg.replacement, groupCount(compileJavaRegex(cfg.regex)));
  } catch (e) {
    return { replacement: [`Invalid replacement: ${(e as Error).message}`] };
  }
  return undefined;
});

const CACHE_LIMIT = 1000;

/**
 * Renames topics with a regex and a replacement. A topic that the regex
 * does not match whole is left alone. Answers are cached per topic.
 */
class RegexRouter implements Transformation {
  private full!: RegExp;
  private first!: RegExp;
  private replacement!: JavaReplacement;
  private readonly routes = new Map<string, string>();

  configure(config: Record<string, string>): void {
    const cfg = RegexRouterConfig.parse(config);
    this.full = compileJavaRegex(cfg.regex, { fullMatch: true });
    this.first = compileJavaRegex(cfg.regex);
    this.replacement = new JavaReplacement(cfg.replacement, groupCount(this.first));
  }

  apply(record: ConnectRecord): ConnectRecord {
    let topic = this.routes.get(record.topic);
    if (topic === undefined) {
      topic = this.route(record.topic);
      if (this.routes.size >= CACHE_LIMIT) this.routes.clear();
      this.routes.set(record.topic, topic);
    }
    return topic === record.topic ? record : withTopic(record, topic);
  }

  private route(topic: string): string {
    if (!this.full.test(topic)) return topic;
    // Java: matches() decides, then replaceFirst() rewrites the first match.
    const m = this.first.exec(topic)!;
    return topic.slice(0, m.index) + this.replacement.expand(m) + topic.slice(m.index + m[0].length);
  }
}

export const regexRouterPlugin = transformPlugin({
  name: 'RegexRouter',
  description: 'Updates the record topic using the configured regular expression and replacement string.',
  config: RegexRouterConfig,
  create: () => new RegexRouter(),
});
