/**
 * Kafka's `sasl.jaas.config` syntax, parsed the way Kafka's JaasConfig reads
 * it (a java.io.StreamTokenizer): one entry
 * `<LoginModuleClass> <required|requisite|sufficient|optional> key=value ... ;`
 * where a value is a double- or single-quoted string (backslash escapes
 * `\"`, `\\`, `\n`, `\t`, `\r`) or a bare word, with `//` and `/* *\/`
 * comments allowed between tokens.
 *
 * The text is a secret: no error message quotes any part of it, only the
 * character position.
 */
export interface JaasEntry {
  loginModule: string;
  controlFlag: 'required' | 'requisite' | 'sufficient' | 'optional';
  options: Record<string, string>;
}

export class JaasSyntaxError extends Error {}

type Token = { kind: 'word' | 'string' | 'punct'; text: string; pos: number };

const WORD = /[A-Za-z0-9_$.\-\u0080-\uffff]/;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n' && src[i] !== '\r') i++;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new JaasSyntaxError(`unterminated comment starting at character ${i + 1}`);
      i = end + 2;
    } else if (c === '"' || c === "'") {
      const start = i;
      let text = '';
      i++;
      for (;;) {
        if (i >= src.length || src[i] === '\n' || src[i] === '\r') throw new JaasSyntaxError(`unterminated quoted value starting at character ${start + 1}`);
        const d = src[i]!;
        if (d === c) {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < src.length) {
          const e = src[i + 1]!;
          text += ESCAPES[e] ?? e;
          i += 2;
          continue;
        }
        text += d;
        i++;
      }
      out.push({ kind: 'string', text, pos: start });
    } else if (WORD.test(c)) {
      const start = i;
      while (i < src.length && WORD.test(src[i]!)) i++;
      out.push({ kind: 'word', text: src.slice(start, i), pos: start });
    } else if (c === '=' || c === ';') {
      out.push({ kind: 'punct', text: c, pos: i });
      i++;
    } else {
      throw new JaasSyntaxError(`unexpected character at position ${i + 1}`);
    }
  }
  return out;
}

const FLAGS = new Set(['required', 'requisite', 'sufficient', 'optional']);

/** Parses the one login module entry a Kafka client accepts. */
export function parseJaasConfig(src: string): JaasEntry {
  const tokens = tokenize(src);
  let i = 0;
  const at = (t: Token | undefined) => (t ? `at character ${t.pos + 1}` : 'at the end');
  const mod = tokens[i++];
  if (!mod || mod.kind !== 'word') throw new JaasSyntaxError(`expected a login module class name ${at(mod)}`);
  const flag = tokens[i++];
  if (!flag || flag.kind !== 'word' || !FLAGS.has(flag.text.toLowerCase())) {
    throw new JaasSyntaxError(`expected a control flag (required, requisite, sufficient or optional) after the login module name ${at(flag)}`);
  }
  const options: Record<string, string> = {};
  for (;;) {
    const t = tokens[i++];
    if (!t) throw new JaasSyntaxError('missing ";" at the end of the login module entry');
    if (t.kind === 'punct' && t.text === ';') break;
    if (t.kind !== 'word') throw new JaasSyntaxError(`expected an option name ${at(t)}`);
    const eq = tokens[i++];
    if (!eq || eq.kind !== 'punct' || eq.text !== '=') throw new JaasSyntaxError(`expected "=" after the option name ${at(eq)}`);
    const v = tokens[i++];
    if (!v || v.kind === 'punct') throw new JaasSyntaxError(`expected a value after "=" ${at(v)}`);
    options[t.text] = v.text;
  }
  if (i < tokens.length) throw new JaasSyntaxError(`only one login module entry is allowed; more text ${at(tokens[i])}`);
  return { loginModule: mod.text, controlFlag: flag.text.toLowerCase() as JaasEntry['controlFlag'], options };
}

/** Quotes a value for a JAAS entry (the inverse of the parser's quoted strings). */
export function jaasQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}
