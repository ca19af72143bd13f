/** Dockerfile syntax at the word level (src/build/instruction-lexer.ts), without any instruction's meaning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../src/core/errors';
import { lexWord, lexWords, logicalLines } from '../../src/build/instruction-lexer';

const syntax = (re: RegExp) => (e: unknown) => e instanceof BerthError && e.code === 'EINVALID_ARGUMENT' && re.test(e.message);

test('word lexing: quotes, escapes, variables kept verbatim without an environment', () => {
  assert.deepEqual(lexWords(`a "b c" 'd $e' f\\ g $H`, undefined), ['a', 'b c', 'd $e', 'f g', '$H']);
  assert.deepEqual(lexWords(`"x\\"y" $H`, new Map([['H', 'home']])), ['x"y', 'home']);
});

test('word lexing: expansion forms, and none inside single quotes', () => {
  const env = new Map([['A', 'one'], ['E', '']]);
  assert.deepEqual(lexWords('$A ${A} ${B:-dflt} ${A:-dflt} ${A:+alt} ${B:+alt}x', env), ['one', 'one', 'dflt', 'one', 'alt', 'x']);
  assert.deepEqual(lexWords(`'$A' "$A" \\$A $ end`, env), ['$A', 'one', '$A', '$', 'end']);
  assert.equal(lexWord('${E:-empty is unset too}', env), 'empty is unset too');
  assert.equal(lexWord('${B:-${A}x}', env), 'onex', 'a default is itself expanded');
  assert.equal(lexWord('  a  b ', undefined), '  a  b ', 'one word keeps its white space');
});

test('word lexing: syntax errors say what is wrong, not where it came from', () => {
  assert.throws(() => lexWords(`'open`, undefined), syntax(/^unterminated single quote$/));
  assert.throws(() => lexWords('"open', undefined), syntax(/^unterminated double quote$/));
  assert.throws(() => lexWords('${A', undefined), syntax(/^unterminated "\$\{"$/));
  assert.throws(() => lexWord('${A:?x}', new Map()), (e: unknown) => syntax(/bad substitution/)(e) && /NAME:-default/.test((e as BerthError).hint ?? ''));
});

test('logical lines: continuations joined, comments and blank lines dropped', () => {
  assert.deepEqual(logicalLines('# comment\n\nENV A=1 \\\n    B=2\r\n  CMD ["x"]\nLABEL a=b \\'), ['ENV A=1     B=2', 'CMD ["x"]', 'LABEL a=b']);
  assert.deepEqual(logicalLines('  \n# only a comment'), []);
});
