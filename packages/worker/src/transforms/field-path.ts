/**
 * Field references for `field.syntax.version`: V1 takes the name as is, V2
 * reads a dotted path into nested structs/maps, with backticks around a name
 * that itself contains dots (`` `a.b`.c ``) and `\` escaping a backtick.
 */
export type FieldSyntaxVersion = 'V1' | 'V2';

export function parseFieldPath(path: string, version: FieldSyntaxVersion): string[] {
  if (version === 'V1') return [path];
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (quoted) {
      if (c === '\\' && path[i + 1] === '`') {
        cur += '`';
        i++;
      } else if (c === '`' && (i + 1 === path.length || path[i + 1] === '.')) {
        quoted = false;
      } else cur += c;
    } else if (c === '`' && cur === '') {
      quoted = true;
    } else if (c === '.') {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) throw new Error(`Unterminated backtick in field path ${path}`);
  parts.push(cur);
  if (parts.some((p) => p === '')) throw new Error(`Empty field name in field path ${path}`);
  return parts;
}

export function fieldPathError(path: string, version: FieldSyntaxVersion): string | null {
  try {
    parseFieldPath(path, version);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
