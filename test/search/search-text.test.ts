import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { headingsText, htmlToText, MATCH_END, MATCH_START, MAX_BODY_CHARS, pathWords } from '../../src/search/document-text.ts';
import { highlightSegments } from '../../src/search/highlight.ts';
import { parseQueryText } from '../../src/search/query-text.ts';

describe('document text', () => {
  test('sanitized HTML becomes plain text: tags dropped, blocks on their own lines, entities decoded', () => {
    const html = '<h2 id="a">Scope</h2><p>Use <strong>MFA</strong> &amp; keys &lt;b&gt; &#8212; &#x41;.</p><ul><li>one</li><li>two</li></ul><!-- note -->';
    assert.equal(htmlToText(html), 'Scope\nUse MFA & keys <b> — A.\none\ntwo');
  });

  test('the match markers and control characters never reach the index; long bodies are cut', () => {
    assert.equal(htmlToText(`<p>a${MATCH_START}b${MATCH_END}c\u0000d</p>`), 'a b c d');
    assert.equal(htmlToText(`<p>${'x'.repeat(MAX_BODY_CHARS + 10)}</p>`).length, MAX_BODY_CHARS);
  });

  test('headings of the table of contents, one per line, and the path as words', () => {
    assert.equal(headingsText([{ id: 'a', text: 'Purpose', children: [{ id: 'b', text: 'Who', children: [] }] }, { id: 'c', text: 'Scope', children: [] }]), 'Purpose\nWho\nScope');
    assert.equal(pathWords('policies/incident-response_v2.md'), 'policies incident response v2');
  });
});

describe('query text', () => {
  test('the last word is a prefix while it is being typed', () => {
    assert.deepEqual(parseQueryText('incident resp'), { text: 'incident resp', prefix: { head: 'incident', word: 'resp' }, needle: 'incid' });
    assert.equal(parseQueryText('incident resp ')?.prefix, null, 'a finished word');
    assert.equal(parseQueryText('policy -draf')?.prefix, null, 'a negated word');
    assert.equal(parseQueryText('"response pla')?.prefix, null, 'inside a phrase');
    assert.equal(parseQueryText('a or')?.prefix, null, 'the or operator');
    assert.equal(parseQueryText('x')?.prefix, null, 'one letter');
  });

  test('only letters and digits reach to_tsquery; a query without any is nothing to search for', () => {
    for (const hostile of ["it's:*|!xy", 'a & b | !cd', "x')) OR 1=1 --ab", 'polic:*', 'wörd']) {
      const word = parseQueryText(hostile)?.prefix?.word;
      if (word !== undefined) assert.match(word, /^[\p{L}\p{N}]+$/u, hostile);
    }
    assert.equal(parseQueryText('wörd')?.prefix?.word, 'wörd');
    assert.equal(parseQueryText('  ---  '), null);
    assert.equal(parseQueryText(''), null);
    assert.equal(parseQueryText('a'.repeat(500))!.text.length, 200);
  });

  test('the snippet needle is the start of the first word searched for', () => {
    assert.equal(parseQueryText('-draft or "Encryption keys"')?.needle, 'encry');
    assert.equal(parseQueryText('-draft')?.needle, '');
  });
});

describe('highlighted snippets', () => {
  test('markers become matched segments; stray markers are dropped', () => {
    assert.deepEqual(highlightSegments(`a ${MATCH_START}<b>${MATCH_END} c`), [
      { text: 'a ', match: false },
      { text: '<b>', match: true },
      { text: ' c', match: false },
    ]);
    assert.deepEqual(highlightSegments(`x${MATCH_END}y`), [{ text: 'xy', match: false }]);
  });
});
