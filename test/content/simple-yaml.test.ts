import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMap, parseDocument } from 'yaml';
import { YAML_OPTIONS } from '../../src/content/front-matter.ts';
import { parseSimpleYaml } from '../../src/content/simple-yaml.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

/** The yaml library with the options front-matter.ts uses: its value, or undefined when it reports a problem. */
function libraryValue(text: string): unknown {
  const doc = parseDocument(text, YAML_OPTIONS);
  if (doc.errors.length > 0 || doc.warnings.length > 0) return undefined;
  const value: unknown = doc.toJS({ maxAliasCount: 20 });
  if (value !== null && !isMap(doc.contents)) return undefined;
  return value;
}

/** Whenever the fast reader answers, it must answer exactly what the library does. */
function assertAgrees(text: string): boolean {
  const simple = parseSimpleYaml(text);
  if (simple === undefined) return false;
  assert.deepStrictEqual(simple, libraryValue(text), `header ${JSON.stringify(text)}`);
  return true;
}

const rng = seededRandom;

const KEYS = ['title', 'sort', 'tags', 'classification', 'date', 'owner', 'effective', 'review_by', 'a-b', 'x_1',
  'true', 'True', 'null', 'NULL', 'No', 'y', 'e1', 'constructor', 'toString', 'Title', '_x', '1a', '-a', '?a'];
const SCALARS = ['Data handling', 'a  b', 'internal', 'Confidential', '2024-05-15', '2024-13-45', 'ops@example.com',
  "O'Brien", 'say "hi"', 'a, b', 'a - b', 'a ?b', 'a | b', 'a > b', 'a & b', 'a * b', 'a ! b', 'x%y', 'x`y', 'a\\b',
  '~', 'null', 'Null', 'NULL', 'nULL', 'true', 'True', 'TRUE', 'tRUE', 'false', 'no', 'yes', 'on', '0', '-0', '+0',
  '007', '12', '-12', '+12', '1_000', '0o17', '0o19', '0O17', '0x1F', '0X1F', '0xG', '1.5', '1.50', '-1.5', '.5',
  '-.5', '+.5', '1.', '1e3', '1E-3', '.1e2', '1.5e+3', '.inf', '-.inf', '+.Inf', '.INF', '.nan', '.NaN', '.NAN',
  '.Nan', 'Infinity', 'NaN', '12345678901234567890', '0.1', '9007199254740993', '1 2', 'a#b', 'a #b', 'a:b', 'a: b',
  'a:', '@x', '`x`', '%x', '&x a', '*x', '!x a', '!!str a', '|', '>', '- a', '-a', '? a', ',a', 'a,', 'a]', '[a',
  '{a: b}', '{}', 'a}', '...', '---', '_a', 'a\tb', 'é', 'a\u00a0b', '\\'];
const QUOTED = ['""', "''", '"a: b"', "'a: b'", '"a # b"', '"it\'s"', "'say \"hi\"'", "'it''s'", '"a\\"b"',
  '"a\\nb"', '"a', "'a", '"a"b', "'a'b", '"  padded  "', "'#'", '"[x]"'];
const LISTS = ['[]', '[ ]', '[a]', '[a, b]', '[ a , b ]', '[a,b]', '[a,]', '[, a]', '[a, , b]', '[a b, c]', '[1, 2.5]',
  '[true, null, ~]', '[a, [b]]', '[a, {b: c}]', '["a", b]', "['a']", '[a: b]', '[a #b]', '[a]b', '[a', '[?a]',
  '[a?]', '[-1, +2, .5]', '[-a]', '[.inf, .nan]', '[a  b]'];
const LINES = ['', ' ', '#', '# comment', '#comment: x', '  indented: x', '  - a', '- a', 'plain', '%YAML 1.2', 'key',
  'a : b', ' a: b', '...', 'key:\t x', 'key:x', 'key:  ', 'key:', '? a', '<<: x', 'k: v #c'];

function entry(next: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  // Mostly the usual keys, so that whole headers often fall inside the subset.
  const key = next() < 0.7 ? pick(KEYS.slice(0, 8)) : pick(KEYS);
  const r = next();
  if (r < 0.06) return pick(LINES);
  const values = r < 0.55 ? SCALARS : r < 0.75 ? QUOTED : r < 0.95 ? LISTS : [''];
  const space = next() < 0.9 ? ' ' : pick(['', '  ', '   ']);
  const trailing = next() < 0.85 ? '' : pick([' ', '  ', '\t', ' #c', '#']);
  return `${key}:${space}${pick(values)}${trailing}`;
}

function header(next: () => number): string {
  const lines: string[] = [];
  for (let i = 0, n = Math.floor(next() * 7); i < n; i++) lines.push(entry(next));
  const text = lines.join('\n');
  return next() < 0.8 ? `${text}\n` : text;
}

/** Small random edits of a header the fast reader accepts: the boundary of the subset is where mistakes hide. */
function mutate(text: string, next: () => number): string {
  const chars = [' ', ':', '#', ',', '[', ']', '"', "'", '-', '.', '\n', 'a', '0', '\\', '{', '&', '*', '!', '|', '?'];
  const at = Math.floor(next() * (text.length + 1));
  const edit = next();
  if (edit < 0.4) return text.slice(0, at) + chars[Math.floor(next() * chars.length)] + text.slice(at);
  if (edit < 0.7) return text.slice(0, at) + text.slice(at + 1);
  return text.slice(0, at) + chars[Math.floor(next() * chars.length)] + text.slice(at + 1);
}

describe('parseSimpleYaml', () => {
  it('reads the usual front matter', () => {
    const text = [
      'title: Data handling',
      'sort: 2',
      'tags: [policy, compliance]',
      'classification: Confidential',
      'date: 2024-05-15',
      'owner: ops@example.com',
      'effective: "2024-06-01"',
      'draft:',
      '',
      '# note',
      'review_by: 2025-06-01',
    ].join('\n');
    assert.deepStrictEqual(parseSimpleYaml(`${text}\n`), {
      title: 'Data handling',
      sort: 2,
      tags: ['policy', 'compliance'],
      classification: 'Confidential',
      date: '2024-05-15',
      owner: 'ops@example.com',
      effective: '2024-06-01',
      draft: null,
      review_by: '2025-06-01',
    });
    assert.ok(assertAgrees(`${text}\n`));
  });

  it('gives null for an empty or comment-only header', () => {
    assert.equal(parseSimpleYaml(''), null);
    assert.equal(parseSimpleYaml('# nothing yet\n\n'), null);
  });

  it('leaves everything outside the subset to the library', () => {
    for (const text of [
      'title: a: b\n',
      'title: x #c\n',
      'title: |\n  text\n',
      'title: Foo\n  continued\n',
      'tags:\n- a\n',
      'a: 1\na: 2\n',
      'true: x\n',
      'constructor: x\n',
      'title: &t x\nowner: *t\n',
      'title: !!str 1\n',
      'title:\tx\n',
      'title: Überblick\n',
      'tags: [a, [b]]\n',
      'tags: [a,]\n',
      'title: "a\\"b"\n',
      '%YAML 1.2\n',
    ]) {
      assert.equal(parseSimpleYaml(text), undefined, JSON.stringify(text));
    }
  });

  it('agrees with the yaml library on every generated header it accepts', () => {
    const next = rng(20240515);
    let accepted = 0;
    for (let i = 0; i < 30_000; i++) {
      let text = header(next);
      if (assertAgrees(text)) accepted++;
      for (let j = 0; j < 3; j++) {
        text = mutate(text, next);
        if (assertAgrees(text)) accepted++;
      }
    }
    // The generator must reach inside the subset often, or the comparison proves little.
    assert.ok(accepted > 10_000, `only ${accepted} generated headers were in the subset`);
  });
});
