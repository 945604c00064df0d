import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sanitizeAuditText } from '../../src/audit/sanitize.ts';

/** The length cap as it was written before the short-text fast path: every text through an array of code points. */
function capByCodePoints(escaped: string, limit: number): string {
  const chars = Array.from(escaped);
  if (chars.length <= limit) return escaped;
  return chars.slice(0, limit - 1).join('') + '…';
}

test('control and layout characters are written as visible escapes, a backslash doubled first', () => {
  assert.equal(sanitizeAuditText('a\nb\rc\td', 100), 'a\\nb\\rc\\td');
  assert.equal(sanitizeAuditText('\u001b[31mred', 100), '\\x1b[31mred');
  assert.equal(sanitizeAuditText('x\u202ey', 100), 'x\\u202ey');
  assert.equal(sanitizeAuditText('typed \\n literally', 100), 'typed \\\\n literally');
  assert.equal(sanitizeAuditText('lone \ud800 surrogate', 100), 'lone \ufffd surrogate');
});

test('the cap counts code points: an astral character is one, and a cut text ends with …', () => {
  assert.equal(sanitizeAuditText('abcdef', 6), 'abcdef');
  assert.equal(sanitizeAuditText('abcdefg', 6), 'abcde…');
  // four emoji: 8 UTF-16 units but 4 code points, under a limit of 5
  assert.equal(sanitizeAuditText('😀😀😀😀', 5), '😀😀😀😀');
  assert.equal(sanitizeAuditText('😀😀😀😀', 4), '😀😀😀😀');
  assert.equal(sanitizeAuditText('😀😀😀😀', 3), '😀😀…');
  // escapes count after escaping: "\n" becomes two characters
  assert.equal(sanitizeAuditText('ab\n', 3), 'ab…');
});

test('the same result as capping every text by its array of code points (generated texts)', () => {
  const alphabet = ['a', 'Z', ' ', '\n', '\\', '\u0085', '\u2028', 'é', '😀', '\ud83d', '\ude00', '𝔸', '…'];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 3000; i++) {
    const length = next() % 24;
    let text = '';
    for (let j = 0; j < length; j++) text += alphabet[next() % alphabet.length];
    const limit = 1 + (next() % 20);
    const escaped = sanitizeAuditText(text, Number.MAX_SAFE_INTEGER);
    assert.equal(sanitizeAuditText(text, limit), capByCodePoints(escaped, limit), JSON.stringify({ text, limit }));
  }
});
