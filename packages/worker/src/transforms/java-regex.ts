/**
 * Kafka Connect configs carry Java regular expressions and Java-style
 * replacement strings (`$1`, `${name}`, `\$`). Most Java regex syntax is also
 * valid JavaScript; this module bridges the common differences so configs
 * move over unchanged.
 */

/**
 * The first Java construct in `pattern` that has no JavaScript equivalent
 * (and would silently mean something else, or nothing), or null.
 */
export function untranslatableJavaConstruct(pattern: string): string | null {
  let inClass = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const next = pattern[i + 1];
    if (c === '\\') {
      if (next === 'G') return '\\G (end of the previous match)';
      if (next === 'Q') return '\\Q...\\E (quoted text)';
      if (next === 'R' || next === 'X' || next === 'h' || next === 'H' || next === 'v' || next === 'V') return `\\${next}`;
      if ((next === 'p' || next === 'P') && /^\{(java|Is|In)/.test(pattern.slice(i + 2))) return `\\${next}${pattern.slice(i + 2).split('}')[0]}} (a Java character property)`;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[') inClass++;
      else if (c === ']') inClass--;
      else if (c === '&' && next === '&') return '&& (character class intersection)';
      continue;
    }
    if (c === '[') {
      inClass = 1;
      if (next === '^') i++;
      if (pattern[i + 1] === ']') i++; // a leading ] is literal
      continue;
    }
    if (c === '(' && next === '?') {
      const rest = pattern.slice(i + 2);
      if (rest.startsWith('>')) return '(?>...) (an atomic group)';
      const flags = /^([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(rest);
      if (flags && (flags[1] || flags[2])) {
        const leading = i === 0 && flags[3] === ')' && !flags[2] && /^[imsu]+$/.test(flags[1]!);
        if (!leading) return `(?${flags[0]} (inline flags${flags[1]!.includes('x') ? ', comments mode' : ''} other than a leading (?i), (?m), (?s))`;
      }
      continue;
    }
    if ((c === '*' || c === '+' || c === '?' || c === '}') && next === '+') return `${c}+ (a possessive quantifier)`;
  }
  return null;
}

/**
 * Translates a Java regex to a JavaScript one: leading inline flags, `\A`,
 * `\z`, `\Z`. Throws, naming the construct, for Java syntax that has no
 * JavaScript equivalent.
 */
export function compileJavaRegex(pattern: string, opts: { fullMatch?: boolean } = {}): RegExp {
  const bad = untranslatableJavaConstruct(pattern);
  if (bad) throw new Error(`Unsupported Java regular expression construct ${bad} in ${JSON.stringify(pattern)}`);
  let src = pattern;
  let flags = '';
  const inline = /^\(\?([imsu]+)\)/.exec(src);
  if (inline) {
    src = src.slice(inline[0].length);
    for (const f of inline[1]!) if (f === 'i' || f === 'm' || f === 's') flags += f;
  }
  src = src.replace(/(\\\\)|\\A|\\[zZ]/g, (m, escapedBackslash: string | undefined) => (escapedBackslash ? m : m === '\\A' ? '^' : '$'));
  return new RegExp(opts.fullMatch ? `^(?:${src})$` : src, flags);
}

/** Null when `pattern` compiles, else the reason. */
export function javaRegexError(pattern: string): string | null {
  try {
    compileJavaRegex(pattern);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Number of capturing groups in a compiled regex. */
export function groupCount(re: RegExp): number {
  return new RegExp(`${re.source}|`, re.flags).exec('')!.length - 1;
}

type ReplacementPart = string | number | { name: string };

/** A Java replacement string compiled against a regex's groups. */
export class JavaReplacement {
  private readonly parts: ReplacementPart[];
  /** True when the replacement has no group references (a constant). */
  readonly constant: boolean;

  constructor(replacement: string, groups: number) {
    this.parts = parseReplacement(replacement, groups);
    this.constant = this.parts.every((p) => typeof p === 'string');
  }

  expand(match: RegExpExecArray): string {
    let out = '';
    for (const p of this.parts) {
      if (typeof p === 'string') out += p;
      else if (typeof p === 'number') out += match[p] ?? '';
      else out += match.groups?.[p.name] ?? '';
    }
    return out;
  }
}

function parseReplacement(s: string, groups: number): ReplacementPart[] {
  const parts: ReplacementPart[] = [];
  let lit = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      i++;
      if (i >= s.length) throw new Error('character to be escaped is missing');
      lit += s[i];
    } else if (c === '$') {
      i++;
      if (i >= s.length) throw new Error('Illegal group reference: group index is missing');
      if (s[i] === '{') {
        const end = s.indexOf('}', i);
        if (end < 0) throw new Error("named capturing group is missing trailing '}'");
        const name = s.slice(i + 1, end);
        if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`Illegal group name: ${name}`);
        if (lit) parts.push(lit), (lit = '');
        parts.push({ name });
        i = end;
      } else {
        // Java: the first digit always belongs to the reference; later digits
        // join it only while the number stays a valid group index.
        if (!/[0-9]/.test(s[i])) throw new Error('Illegal group reference');
        let n = Number(s[i]);
        if (n > groups) throw new Error(`No group ${n}`);
        while (i + 1 < s.length && /[0-9]/.test(s[i + 1]) && n * 10 + Number(s[i + 1]) <= groups) {
          n = n * 10 + Number(s[i + 1]);
          i++;
        }
        if (lit) parts.push(lit), (lit = '');
        parts.push(n);
      }
    } else {
      lit += c;
    }
  }
  if (lit) parts.push(lit);
  return parts;
}
