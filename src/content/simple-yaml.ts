/**
 * A fast reader for the front matter nearly every document has: one `key: value` per line, the value plain,
 * quoted or a one-line `[a, b]` list. The yaml library's parse (a generator-based lexer, a CST, a Document) cost
 * more than a fifth of a render for a header of a few lines.
 *
 * Exactness matters more than coverage: only a narrow, printable-ASCII subset is accepted, on which the yaml
 * library (core schema, the options in front-matter.ts) reports no error or warning and whose `toJS()` is exactly
 * what this returns. Anything else answers `undefined` and goes through the library, errors and all.
 * test/content/simple-yaml.test.ts compares the two on generated headers.
 */

/** The JS value of a simple header: a map of its keys, or null when it has none (empty, or comments only). */
export type SimpleYaml = Record<string, SimpleValue> | null;
type SimpleScalar = string | number | boolean | null;
type SimpleValue = SimpleScalar | SimpleScalar[];

// Printable ASCII and line feeds only: no tabs, control characters or Unicode subtleties.
const PRINTABLE = /^[\x20-\x7e\n]*$/;
// `key: value` or `key:` at column 0. Keys are short identifiers (never over yaml's 1024-character implicit-key
// limit); the value is captured without the spaces around it.
const ENTRY = /^([A-Za-z][A-Za-z0-9_-]{0,63}):(?: +(.*?))? *$/;
// Plain scalars: the first character is no YAML indicator (a sign or dot only before a digit), and no `:` or `#`
// anywhere (no nested key, no comment). Block values also exclude brackets and braces; list items also commas and
// quotes.
const BLOCK_PLAIN = /^(?:[A-Za-z0-9_]|[-+.][0-9])[^:#[\]{}]*$/;
const FLOW_PLAIN = /^(?:[A-Za-z0-9_]|[-+.][0-9])[^:#[\]{},'"?]*$/;
const DOUBLE_QUOTED = /^"([^"\\]*)"$/;
const SINGLE_QUOTED = /^'([^']*)'$/;
const FLOW_LIST = /^\[(.*)\]$/;

// The yaml 1.2 core schema's scalar tests (yaml/dist/schema/core), tried in the library's order.
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** The header's JS value, or undefined when it is not in the simple subset (use the yaml library then). */
export function parseSimpleYaml(text: string): SimpleYaml | undefined {
  if (!PRINTABLE.test(text)) return undefined;
  let result: Record<string, SimpleValue> | null = null;
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(start, end);
    start = end + 1;
    if (line === '' || line[0] === '#') continue;

    const entry = ENTRY.exec(line);
    if (!entry) return undefined;
    const key = entry[1]!;
    // `true:` or `null:` are not string keys; an inherited name (`constructor`) is set differently by the library.
    if (plainScalar(key) !== key || key in Object.prototype) return undefined;
    result ??= {};
    // Duplicate keys are an error the library reports.
    if (Object.hasOwn(result, key)) return undefined;
    const value = entryValue(entry[2] ?? '');
    if (value === undefined) return undefined;
    result[key] = value;
  }
  return result;
}

function entryValue(source: string): SimpleValue | undefined {
  if (source === '') return null;
  switch (source[0]) {
    case '"':
      return DOUBLE_QUOTED.exec(source)?.[1];
    case "'":
      return SINGLE_QUOTED.exec(source)?.[1];
    case '[':
      return flowList(source);
    default:
      return BLOCK_PLAIN.test(source) ? plainScalar(source) : undefined;
  }
}

/** `[a, b, c]` on one line, plain items only; `[]` is an empty list. */
function flowList(source: string): SimpleScalar[] | undefined {
  const inner = FLOW_LIST.exec(source)?.[1];
  if (inner === undefined) return undefined;
  if (inner.trim() === '') return [];
  const items: SimpleScalar[] = [];
  for (const part of inner.split(',')) {
    const item = part.trim();
    // An empty item (`[a, , b]` or a trailing comma) is left to the library.
    if (!FLOW_PLAIN.test(item)) return undefined;
    items.push(plainScalar(item));
  }
  return items;
}

/** What the core schema makes of a plain scalar (same tests, same order, same conversions as the library). */
function plainScalar(source: string): SimpleScalar {
  if (NULL.test(source)) return null;
  if (BOOL.test(source)) return source[0] === 't' || source[0] === 'T';
  if (INT_OCT.test(source)) return parseInt(source.slice(2), 8);
  if (INT.test(source)) return parseInt(source, 10);
  if (INT_HEX.test(source)) return parseInt(source.slice(2), 16);
  if (FLOAT_NAN.test(source)) {
    if (source.slice(-3).toLowerCase() === 'nan') return NaN;
    return source[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (FLOAT_EXP.test(source) || FLOAT.test(source)) return parseFloat(source);
  return source;
}
