/**
 * The commit trailer that marks a change as editorial: its new version does not require anyone to acknowledge the
 * document again. The editor writes it when the author ticks "Editorial change"; people pushing with git write it
 * themselves (`git commit --trailer "Acknowledgment: not-required"`).
 */
export const EDITORIAL_TRAILER = 'Acknowledgment: not-required';

// A trailer is a `Key: value` line in the last paragraph of the message; git compares keys case-insensitively.
const TRAILER_LINE = /^acknowledg(?:e)?ment:[ \t]*not-required[ \t]*$/i;

/** True when the message's trailer block says `Acknowledgment: not-required`. */
export function isEditorialMessage(message: string): boolean {
  const paragraphs = message.replace(/\r\n?/g, '\n').trimEnd().split(/\n[ \t]*\n/);
  // the subject line alone is no trailer block
  if (paragraphs.length < 2) return false;
  const last = paragraphs[paragraphs.length - 1]!;
  return last.split('\n').some((line) => TRAILER_LINE.test(line.trim()));
}

/** The message with the editorial trailer added as its last paragraph (or line of an existing trailer block). */
export function withEditorialTrailer(message: string): string {
  if (isEditorialMessage(message)) return message;
  return `${message.trimEnd()}\n\n${EDITORIAL_TRAILER}`;
}
