import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommonConnectorConfig, SinkConnectorConfig } from '../src/herder/connector-config.js';
import { compileJavaRegex, untranslatableJavaConstruct } from '../src/transforms/java-regex.js';

describe('Java regular expressions', () => {
  it('translates what JavaScript can express the same way', () => {
    assert.ok(compileJavaRegex('(?i)orders\\.\\d+', { fullMatch: true }).test('ORDERS.12'));
    assert.ok(compileJavaRegex('\\Aa.*b\\z').test('axxb'));
    assert.ok(compileJavaRegex('[a-z&]+', { fullMatch: true }).test('a&b'));
    assert.ok(compileJavaRegex('(?<name>x)(?:y)(?=z)', {}).test('xyz'));
    assert.equal(untranslatableJavaConstruct('a\\++b'), null, 'an escaped + followed by a quantifier');
  });

  it('names each construct it cannot translate', () => {
    const cases: Array<[string, RegExp]> = [
      ['a*+b', /possessive/],
      ['a{2}+', /possessive/],
      ['(?>ab)c', /atomic group/],
      ['\\Gfoo', /\\G/],
      ['\\Qa.b\\E', /\\Q/],
      ['[a-z&&[^b]]', /intersection/],
      ['a(?i)b', /inline flags/],
      ['(?x) a b', /comments mode/],
      ['(?i:ab)', /inline flags/],
      ['\\p{javaLowerCase}', /Java character property/],
      ['a\\Rb', /\\R/],
    ];
    for (const [p, re] of cases) {
      assert.match(untranslatableJavaConstruct(p) ?? '', re, p);
      assert.throws(() => compileJavaRegex(p), (err: Error) => re.test(err.message) && err.message.includes('Unsupported Java regular expression construct'));
    }
  });

  it('topics.regex uses the same translation and names the construct at validation', () => {
    const def = CommonConnectorConfig.merge(SinkConnectorConfig);
    const base = { name: 'x', 'connector.class': 'FileStreamSink' };
    assert.deepEqual(def.validate({ ...base, 'topics.regex': '(?i)orders-.*' }).errors, {});
    const bad = def.validate({ ...base, 'topics.regex': 'orders-.*+' }).errors['topics.regex'];
    assert.match(bad?.[0] ?? '', /possessive quantifier/);
    assert.match(def.validate({ ...base, 'topics.regex': '(?>a)' }).errors['topics.regex']?.[0] ?? '', /atomic group/);
  });
});
