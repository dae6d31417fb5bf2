/**
 * Display-name rules (CONTRACT "Names"), in Node: what is refused (controls, bidi controls,
 * invisible and blank names, look-alike script mixes), what is folded (NFKC), and what stays
 * allowed (emoji sequences with joiners, names in one script or a customary mix).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkName, nameKey } from '../../src/shared/names.js';

const refused = (raw: string): string => {
  const r = checkName(raw);
  assert.equal(r.ok, false, `${JSON.stringify(raw)} should be refused`);
  return r.ok ? '' : r.reason;
};
const kept = (raw: string): string => {
  const r = checkName(raw);
  assert.ok(r.ok, `${JSON.stringify(raw)} should be allowed: ${r.ok ? '' : r.reason}`);
  return r.name;
};

test('invisible, control and bidi-control characters are refused, alone or inside a name', () => {
  for (const c of [
    '\u200B',
    '\u200C',
    '\u200D',
    '\u2060',
    '\uFEFF',
    '\u00AD',
    '\u034F',
    '\u180E',
    '\u3164',
    '\u115F',
  ]) {
    assert.match(refused(`Zo${c}e`), /invisible|shows nothing/, `U+${c.codePointAt(0)!.toString(16)}`);
    refused(`${c}${c}`);
  }
  for (const c of ['\u202E', '\u202A', '\u2066', '\u2069', '\u200E', '\u200F', '\u061C']) {
    assert.match(refused(`Zoe${c}x`), /direction/);
  }
  for (const c of ['\u0000', '\u0007', '\u001B', '\u007F', '\u0085', '\n', '\t']) {
    assert.match(refused(`Zo${c}e`), /control/);
  }
});

test('names that show nothing are refused', () => {
  for (const raw of ['\u2800', '\u2800\u2800', '\u3164', '\u0301\u0301', '\u0300', ' \u2800 ', '\u3000', '']) {
    refused(raw);
  }
});

test('compatibility forms fold (NFKC) and are trimmed; case folds for comparison only', () => {
  assert.equal(kept('  Ｚｏｅ  '), 'Zoe');
  assert.equal(kept('ﬁona'), 'fiona');
  assert.equal(nameKey('ZOE'), nameKey('zoe'));
  assert.equal(nameKey(kept('Ｚｏｅ')), nameKey('zoe'));
  assert.notEqual(nameKey('Zoe'), nameKey('Zoé'));
});

test('look-alike script mixes are refused; one script, or a customary mix, is kept', () => {
  assert.match(refused('\u0396oe'), /alphabets/); // Greek Zeta + Latin
  assert.match(refused('p\u0430ypal'), /alphabets/); // Cyrillic a
  for (const raw of [
    'Ζεύς',
    'Мария',
    'José Ñúñez',
    '山田 太郎',
    'Yamada 山田',
    '김민준',
    'דוד',
    'محمد',
    'R2-D2',
    "O'Neil",
  ]) {
    kept(raw);
  }
});

test('emoji sequences keep their joiners and variation selectors', () => {
  for (const raw of ['Ann 👨‍👩‍👧', 'Bo ❤️', '👁️‍🗨️', 'Cy 👍🏽', 'Di 🏳️‍🌈']) kept(raw);
  // A joiner must sit between two emoji; a selector after one.
  refused('Ann\u200D');
  refused('A\u200Dnn');
  refused('👍\u200D');
  refused('A\uFE0F');
});

test('at most 40 characters after trimming', () => {
  kept('x'.repeat(40));
  assert.match(refused('x'.repeat(41)), /too long/);
});
