import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatContentError } from '../../src/content/errors.ts';
import { parseFrontMatter } from '../../src/content/front-matter.ts';

const FILE = 'policies/x.md';

/** The formatted errors of a source, as an editor would see them. */
function errorsOf(source: string): string[] {
  return parseFrontMatter(FILE, source).errors.map(formatContentError);
}

describe('parseFrontMatter: valid headers', () => {
  it('reads every known key and returns the body after the closing line', () => {
    const source = [
      '---',
      'title: Data handling',
      'sort: 2',
      'tags: [policy, compliance]',
      'classification: Confidential',
      'date: 2024-05-15',
      'owner: Security team',
      'effective: "2024-06-01"',
      'review_by: 2025-06-01',
      'unknown_key: ignored',
      '---',
      '# Data handling',
      '',
    ].join('\n');
    const result = parseFrontMatter(FILE, source);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.data, {
      title: 'Data handling',
      sort: 2,
      tags: ['policy', 'compliance'],
      classification: 'confidential',
      date: '2024-05-15',
      owner: 'Security team',
      effective: '2024-06-01',
      review_by: '2025-06-01',
    });
    assert.equal(result.body, '# Data handling\n');
    assert.equal(result.bodyStartLine, 12);
  });

  it('gives defaults (internal, no tags) to a file without front matter', () => {
    const result = parseFrontMatter(FILE, '# Just a page\n\nText.\n');
    assert.deepEqual(result.data, { tags: [], classification: 'internal' });
    assert.equal(result.body, '# Just a page\n\nText.\n');
    assert.equal(result.bodyStartLine, 1);
  });

  it('gives defaults to an empty or comment-only block', () => {
    assert.deepEqual(parseFrontMatter(FILE, '---\n---\nBody').data, { tags: [], classification: 'internal' });
    const commented = parseFrontMatter(FILE, '---\n# nothing yet\n---\nBody');
    assert.deepEqual(commented.data, { tags: [], classification: 'internal' });
    assert.equal(commented.body, 'Body');
    assert.equal(commented.bodyStartLine, 4);
  });

  it('accepts a single tag written as a string', () => {
    assert.deepEqual(parseFrontMatter(FILE, '---\ntags: policy\n---\n').data?.tags, ['policy']);
  });

  it('trims, de-duplicates and stringifies tags', () => {
    assert.deepEqual(parseFrontMatter(FILE, '---\ntags: [" a ", a, 2024, ""]\n---\n').data?.tags, ['a', '2024']);
  });

  it('accepts classification in any case', () => {
    assert.equal(parseFrontMatter(FILE, '---\nclassification: RESTRICTED\n---\n').data?.classification, 'restricted');
    assert.equal(parseFrontMatter(FILE, '---\nclassification: Public\n---\n').data?.classification, 'public');
  });

  it('normalizes dates with a time part to YYYY-MM-DD', () => {
    const data = parseFrontMatter(FILE, '---\ndate: 2024-05-15T10:30:00Z\neffective: 2024-01-02 08:00\n---\n').data;
    assert.equal(data?.date, '2024-05-15');
    assert.equal(data?.effective, '2024-01-02');
  });

  it('treats a number as a title (a year is a plausible title)', () => {
    assert.equal(parseFrontMatter(FILE, '---\ntitle: 1984\n---\n').data?.title, '1984');
  });

  it('tolerates a byte order mark and CRLF line endings, keeping line numbers right', () => {
    const result = parseFrontMatter(FILE, '\uFEFF---\r\ntitle: X\r\nsort: 3\r\n---\r\n# Body\r\n');
    assert.deepEqual(result.errors, []);
    assert.equal(result.data?.title, 'X');
    assert.equal(result.data?.sort, 3);
    assert.equal(result.body, '# Body\n');
    assert.equal(result.bodyStartLine, 5);
  });

  it('allows a few ordinary YAML aliases', () => {
    const data = parseFrontMatter(FILE, '---\ncommon: &common [a, b]\ntags: *common\n---\n').data;
    assert.deepEqual(data?.tags, ['a', 'b']);
  });

  it('does not mistake a later thematic break for front matter', () => {
    const result = parseFrontMatter(FILE, 'Intro\n\n---\n\nMore\n');
    assert.deepEqual(result.errors, []);
    assert.equal(result.body, 'Intro\n\n---\n\nMore\n');
  });
});

describe('parseFrontMatter: errors name the file and the line in the whole file', () => {
  it('reports a wrong classification on its own line', () => {
    assert.deepEqual(errorsOf('---\ntitle: X\nclassification: secret\n---\nBody'), [
      'policies/x.md:3: classification must be one of public, internal, confidential, restricted',
    ]);
  });

  it('reports a non-numeric sort', () => {
    assert.deepEqual(errorsOf('---\ntitle: X\ntags: [a]\nsort: first\n---\n'), ['policies/x.md:4: sort must be a number']);
  });

  it('reports a quoted number as a non-numeric sort, too', () => {
    assert.deepEqual(errorsOf('---\nsort: "2"\n---\n'), ['policies/x.md:2: sort must be a number']);
  });

  it('reports YAML syntax errors at the line where the parser finds them', () => {
    assert.deepEqual(errorsOf('---\ntitle: Data handling\nsort: 2\n  owner: x\n---\n'), [
      'policies/x.md:3: invalid YAML: Nested mappings are not allowed in compact mappings',
    ]);
    assert.deepEqual(errorsOf('---\ntitle: X\n\tsort: 1\n---\n'), ['policies/x.md:3: invalid YAML: Tabs are not allowed as indentation']);
  });

  it('reports an unclosed flow list', () => {
    const [error] = errorsOf('---\ntitle: Data handling\ntags: [policy, compliance\nsort: 2\n---\n');
    assert.match(error ?? '', /^policies\/x\.md:4: invalid YAML: Flow sequence/);
  });

  it('refuses custom tags such as !!js/function instead of running or stringifying them', () => {
    assert.deepEqual(errorsOf('---\ntitle: X\nrun: !!js/function "function () { return 1 }"\n---\n'), [
      'policies/x.md:3: unsupported YAML tag: !!js/function',
    ]);
    assert.deepEqual(errorsOf('---\ntitle: !shell rm -rf\n---\n'), ['policies/x.md:2: unsupported YAML tag: !shell']);
  });

  it('refuses YAML 1.1 tags outside the core schema', () => {
    assert.deepEqual(errorsOf('---\nblob: !!binary aGVsbG8=\n---\n'), ['policies/x.md:2: unsupported YAML tag: !!binary']);
  });

  it('stops an alias bomb quickly with an error at the first alias', () => {
    const lines = ['---', 'a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) {
      const previous = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    lines.push('---', 'Body');
    const result = parseFrontMatter(FILE, lines.join('\n'));
    assert.equal(result.data, null);
    assert.deepEqual(result.errors.map(formatContentError), ['policies/x.md:3: front matter expands too many YAML aliases']);
  });

  it('reports duplicate keys', () => {
    assert.deepEqual(errorsOf('---\ntitle: a\nsort: 1\ntitle: b\n---\n'), ['policies/x.md:4: invalid YAML: Map keys must be unique']);
  });

  it('reports an unterminated block at line 1 and renders the whole file as body', () => {
    const result = parseFrontMatter(FILE, '---\ntitle: X\n\n# Body\n');
    assert.equal(result.data, null);
    assert.deepEqual(result.errors.map(formatContentError), [
      'policies/x.md:1: front matter is not closed: add a line "---" after the last key',
    ]);
    assert.equal(result.bodyStartLine, 1);
    assert.equal(result.body, '---\ntitle: X\n\n# Body\n');
  });

  it('reports front matter that is not a mapping', () => {
    assert.deepEqual(errorsOf('---\n- a\n- b\n---\n'), ['policies/x.md:2: front matter must be a list of "key: value" lines']);
  });

  it('reports a bad list item at the item’s own line', () => {
    assert.deepEqual(errorsOf('---\ntitle: X\ntags:\n  - ok\n  - {a: 1}\n---\n'), ['policies/x.md:5: tags must be a list of strings']);
  });

  it('reports impossible and malformed dates', () => {
    assert.deepEqual(errorsOf('---\ndate: 2024-02-30\n---\n'), ['policies/x.md:2: date must be a date written YYYY-MM-DD']);
    assert.deepEqual(errorsOf('---\ntitle: X\nreview_by: next year\n---\n'), ['policies/x.md:3: review_by must be a date written YYYY-MM-DD']);
    assert.deepEqual(errorsOf('---\neffective: 20240101\n---\n'), ['policies/x.md:2: effective must be a date written YYYY-MM-DD']);
  });

  it('reports every invalid key, each on its line, and returns no data', () => {
    const result = parseFrontMatter(FILE, '---\ntitle: [a]\nsort: x\nowner: 3\n---\n');
    assert.equal(result.data, null);
    assert.deepEqual(result.errors.map(formatContentError), [
      'policies/x.md:2: title must be a string',
      'policies/x.md:3: sort must be a number',
      'policies/x.md:4: owner must be a string',
    ]);
  });

  it('counts lines correctly with CRLF line endings', () => {
    assert.deepEqual(errorsOf('\uFEFF---\r\ntitle: X\r\n\r\nsort: nope\r\n---\r\n'), ['policies/x.md:4: sort must be a number']);
  });
});

describe('parseFrontMatter: a header after blank lines', () => {
  it('is an error at the line of "---", never a silently dropped header', () => {
    const source = '\n  \n---\ntitle: Salaries\nclassification: restricted\n---\n# Salaries\n';
    const result = parseFrontMatter(FILE, source);
    assert.equal(result.data, null);
    assert.deepEqual(errorsOf(source), [`${FILE}:3: front matter must start on the first line: remove the blank lines before "---"`]);
    assert.deepEqual(errorsOf('\r\n---\r\nclassification: restricted\r\n---\r\n'), [
      `${FILE}:2: front matter must start on the first line: remove the blank lines before "---"`,
    ]);
  });

  it('leaves a "---" after text alone (a thematic break in the body)', () => {
    const result = parseFrontMatter(FILE, '# Title\n\n---\n\nMore.\n');
    assert.deepEqual(result.errors, []);
    assert.equal(result.data?.classification, 'internal');
  });
});

describe('parseFrontMatter: acknowledge', () => {
  const acknowledgeOf = (value: string) => parseFrontMatter(FILE, `---\ntitle: X\nacknowledge: ${value}\n---\n`).data?.acknowledge;

  it('reads everyone, one role, or a list of roles (case-insensitive, in rank order, without repeats)', () => {
    assert.equal(acknowledgeOf('everyone'), 'everyone');
    assert.equal(acknowledgeOf('Everyone'), 'everyone');
    assert.deepEqual(acknowledgeOf('manager'), ['manager']);
    assert.deepEqual(acknowledgeOf('[Manager, member, member]'), ['member', 'manager']);
    assert.deepEqual(parseFrontMatter(FILE, '---\nacknowledge:\n  - owner\n  - viewer\n---\n').data?.acknowledge, ['viewer', 'owner']);
  });

  it('treats everyone in a list as everyone, and a header without the key as asking nobody', () => {
    assert.equal(acknowledgeOf('[admin, everyone]'), 'everyone');
    assert.equal(parseFrontMatter(FILE, '---\ntitle: X\n---\n').data?.acknowledge, undefined);
    assert.equal(acknowledgeOf(''), undefined);
  });

  it('rejects an unknown role, an empty list or another type, naming file and line', () => {
    const message = 'acknowledge must be everyone or a list of roles (viewer, member, manager, admin, owner)';
    assert.deepEqual(errorsOf('---\ntitle: X\nacknowledge: [member, boss]\n---\n'), [`policies/x.md:3: ${message}`]);
    assert.deepEqual(errorsOf('---\nacknowledge: []\n---\n'), [`policies/x.md:2: ${message}`]);
    assert.deepEqual(errorsOf('---\ntitle: X\nsort: 1\nacknowledge: 3\n---\n'), [`policies/x.md:4: ${message}`]);
    assert.deepEqual(errorsOf('---\nacknowledge:\n  everyone: yes\n---\n'), [`policies/x.md:2: ${message}`]);
    // an invalid header fails closed (no data), like every other invalid key
    assert.equal(parseFrontMatter(FILE, '---\nacknowledge: members\n---\n').data, null);
  });
});
