import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, DocumentOptions, Node as YamlNode, ParseOptions, SchemaOptions } from 'yaml';
import { z } from 'zod';
import { parseSimpleYaml } from './simple-yaml.ts';
import { CLASSIFICATIONS } from './types.ts';
import type { ContentError, FrontMatter } from './types.ts';

export interface ParsedFrontMatter {
  /** Validated front matter; defaults when the file has none; null when the block is invalid. */
  data: FrontMatter | null;
  /** The Markdown after the front matter block (line endings normalized to `\n`). */
  body: string;
  /** 1-based line of the whole file on which `body` starts. */
  bodyStartLine: number;
  errors: ContentError[];
}

// A handful of aliases is plenty for a document header; more is an expansion attack ("billion laughs").
const MAX_ALIAS_COUNT = 20;

const OPENING_LINE = /^---[ \t]*\n/;
/** Blank lines, then a line that is "---" (give or take spaces): front matter that does not start on line 1. */
const MISPLACED_OPENING = /^((?:[ \t]*\n)*)[ \t]*---[ \t]*(?:\n|$)/;
const CLOSING_LINE = /^(?:---|\.\.\.)[ \t]*$/m;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ].*)?$/;

const absent = (value: unknown): unknown => (value === null ? undefined : value);

const dateField = (key: string) => {
  const message = `${key} must be a date written YYYY-MM-DD`;
  return z.preprocess(
    (value) => (value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : absent(value)),
    z
      .string({ error: message })
      .trim()
      .refine(isCalendarDate, { error: message })
      .transform((value) => value.slice(0, 10))
      .optional(),
  );
};

const frontMatterSchema = z.object({
  title: z.preprocess(
    (value) => (typeof value === 'number' ? String(value) : absent(value)),
    z.string({ error: 'title must be a string' }).trim().min(1, { error: 'title must not be empty' }).optional(),
  ),
  sort: z.preprocess(absent, z.number({ error: 'sort must be a number' }).optional()),
  tags: z.preprocess(
    (value) => (value === null || value === undefined ? [] : typeof value === 'string' ? [value] : value),
    z
      .array(z.union([z.string(), z.number()], { error: 'tags must be a list of strings' }), {
        error: 'tags must be a list of strings',
      })
      .transform(normalizeTags),
  ),
  classification: z.preprocess(
    (value) => (typeof value === 'string' ? value.trim().toLowerCase() : absent(value)),
    z.enum(CLASSIFICATIONS, { error: `classification must be one of ${CLASSIFICATIONS.join(', ')}` }).default('internal'),
  ),
  date: dateField('date'),
  owner: z.preprocess(absent, z.string({ error: 'owner must be a string' }).trim().optional()),
  effective: dateField('effective'),
  review_by: dateField('review_by'),
  // who must approve a change of this document (change requests): emails, or role names meaning that role or above
  approvers: z.preprocess(
    (value) => (typeof value === 'string' ? [value] : absent(value)),
    z
      .array(
        z
          .string({ error: 'approvers must be a list of emails or roles' })
          .trim()
          .toLowerCase()
          .regex(/^(viewer|member|manager|admin|owner|[^\s@<>]+@[^\s@<>]+)$/, { error: 'approvers must be emails or one of the roles viewer, member, manager, admin, owner' }),
        { error: 'approvers must be a list of emails or roles' },
      )
      .max(50, { error: 'approvers may name at most 50 people or roles' })
      .optional(),
  ),
});

/** Split a Markdown file into its validated YAML front matter and body; errors carry whole-file line numbers. */
export function parseFrontMatter(file: string, source: string): ParsedFrontMatter {
  const text = normalizeSource(source);
  const opening = OPENING_LINE.exec(text) ?? (text === '---' ? ['---'] : null);
  if (!opening) {
    // A "---" after blank lines was meant as front matter; reading it as Markdown would silently drop the
    // header (and its classification): an error at that line, and the document fails closed.
    const misplaced = MISPLACED_OPENING.exec(text);
    if (misplaced) {
      const line = countLines(misplaced[1]!) + 1;
      return {
        data: null,
        body: text,
        bodyStartLine: 1,
        errors: [{ file, line, message: 'front matter must start on the first line: remove the blank lines before "---"' }],
      };
    }
    return { data: defaultFrontMatter(), body: text, bodyStartLine: 1, errors: [] };
  }

  const yamlStart = opening[0].length;
  const closing = CLOSING_LINE.exec(text.slice(yamlStart));
  if (!closing) {
    return {
      data: null,
      body: text,
      bodyStartLine: 1,
      errors: [{ file, line: 1, message: 'front matter is not closed: add a line "---" after the last key' }],
    };
  }
  const yamlText = text.slice(yamlStart, yamlStart + closing.index);
  const closingEnd = yamlStart + closing.index + closing[0].length;
  const body = text.slice(text[closingEnd] === '\n' ? closingEnd + 1 : closingEnd);
  const bodyStartLine = countLines(yamlText) + 3;
  const { data, errors } = parseYamlHeader(file, yamlText);
  return { data, body, bodyStartLine, errors };
}

/** The front matter of a file that has none. */
export function defaultFrontMatter(): FrontMatter {
  return { tags: [], classification: 'internal' };
}

/** How front matter is parsed: the core schema only (no custom tags such as `!!js/function`), no merge keys. */
export const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  schema: 'core',
  customTags: [],
  resolveKnownTags: false,
  uniqueKeys: true,
  merge: false,
  strict: true,
  prettyErrors: false,
};

function parseYamlHeader(file: string, yamlText: string): { data: FrontMatter | null; errors: ContentError[] } {
  // Most headers are a few `key: value` lines: read those without the yaml library (same value, see
  // simple-yaml.ts). Errors are always reported by the full parse below, which knows where each key is.
  const simple = parseSimpleYaml(yamlText);
  if (simple === null) return { data: defaultFrontMatter(), errors: [] };
  if (simple !== undefined) {
    const parsed = frontMatterSchema.safeParse(simple);
    if (parsed.success) return { data: dropUndefined(parsed.data), errors: [] };
  }
  return parseYamlHeaderFully(file, yamlText);
}

function parseYamlHeaderFully(file: string, yamlText: string): { data: FrontMatter | null; errors: ContentError[] } {
  const lineCounter = new LineCounter();
  // Front matter begins on line 2 of the file (line 1 is the opening `---`).
  const at = (offset: number | undefined, message: string): ContentError => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { file, line: pos.line + 1, column: pos.col, message };
  };
  const doc = parseDocument(yamlText, { ...YAML_OPTIONS, lineCounter });

  const [firstError] = doc.errors;
  // Later syntax errors are usually echoes of the first; one precise message helps more than five.
  if (firstError) return { data: null, errors: [at(firstError.pos[0], `invalid YAML: ${firstError.message}`)] };
  if (doc.warnings.length > 0) {
    return {
      data: null,
      errors: doc.warnings.map((warning) =>
        at(warning.pos[0], warning.code === 'TAG_RESOLVE_FAILED' ? `unsupported YAML tag: ${tagOf(warning.message)}` : warning.message),
      ),
    };
  }

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message =
      error instanceof ReferenceError && /alias/i.test(error.message)
        ? 'front matter expands too many YAML aliases'
        : `invalid YAML: ${(error as Error).message}`;
    return { data: null, errors: [at(firstAliasOffset(doc), message)] };
  }
  if (raw === null || raw === undefined) return { data: defaultFrontMatter(), errors: [] };
  if (!isMap(doc.contents)) {
    return { data: null, errors: [at(doc.contents?.range?.[0], 'front matter must be a list of "key: value" lines')] };
  }

  const parsed = frontMatterSchema.safeParse(raw);
  if (parsed.success) return { data: dropUndefined(parsed.data), errors: [] };
  return {
    data: null,
    errors: parsed.error.issues.map((issue) => at(offsetOfPath(doc, issue.path), issue.message)),
  };
}

/** Offset of the deepest node on `path` that exists: a map entry's key, or a list item. */
function offsetOfPath(doc: Document, path: readonly PropertyKey[]): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = doc.contents?.range?.[0];
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(step));
      if (!pair) break;
      offset = (pair.key as YamlNode).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step];
      if (!item) break;
      offset = (item as YamlNode).range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

function firstAliasOffset(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (isAlias(node)) offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

function tagOf(message: string): string {
  return message.replace(/^Unresolved tag:\s*/, '').replace(/^tag:yaml\.org,2002:/, '!!');
}

function isCalendarDate(value: string): boolean {
  const match = ISO_DATE.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function normalizeTags(tags: (string | number)[]): string[] {
  const seen = new Set<string>();
  for (const tag of tags) {
    const name = String(tag).trim();
    if (name) seen.add(name);
  }
  return [...seen];
}

function dropUndefined(data: FrontMatter): FrontMatter {
  const result: FrontMatter = { tags: data.tags, classification: data.classification };
  for (const key of ['title', 'sort', 'date', 'owner', 'effective', 'review_by', 'approvers'] as const) {
    if (data[key] !== undefined) (result as unknown as Record<string, unknown>)[key] = data[key];
  }
  return result;
}

function normalizeSource(source: string): string {
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

function countLines(text: string): number {
  if (text === '') return 0;
  let lines = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
  // yamlText ends right before the closing line, so its final newline does not start a line of its own.
  return text.endsWith('\n') ? lines - 1 : lines;
}
