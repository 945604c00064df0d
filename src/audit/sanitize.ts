/**
 * Stored audit text must not be able to forge log lines or terminal output when someone prints it: newlines,
 * carriage returns, tabs, every other C0/C1 control (ESC starts ANSI sequences), DEL, Unicode line and
 * paragraph separators and bidirectional overrides are written as visible escapes (`\n`, `\x1b`, `\u202e`).
 * A backslash is doubled first, so an escape in the stored text always came from this function and a user who
 * types a literal `\n` cannot pass it off as a line break. Lone surrogates become U+FFFD (the database would
 * otherwise change them after the hash was taken).
 */

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };
 
const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Escape control and layout characters and cap the length (in code points, a `…` marks a cut). */
export function sanitizeAuditText(value: string, limit: number): string {
  const escaped = value.replace(LONE_SURROGATE, '\ufffd').replace(UNSAFE, escapeChar);
  // no more UTF-16 units than the limit: no more code points either (the common case, without an array of them)
  if (escaped.length <= limit) return escaped;
  const chars = Array.from(escaped);
  if (chars.length <= limit) return escaped;
  return chars.slice(0, limit - 1).join('') + '…';
}

function escapeChar(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}
