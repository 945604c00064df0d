/**
 * Snippets with their matches marked, as data rather than HTML: `ts_headline` wraps matches in the private-use
 * markers of document-text.ts (which no indexed text contains), and this splits its output into text segments.
 * The view renders each segment as escaped text, matched ones inside `<mark>`: the only tag a snippet can carry is
 * the one the view writes.
 */
import { MATCH_END, MATCH_START } from './document-text.ts';

export interface SnippetSegment {
  text: string;
  match: boolean;
}

/** Split a headline into segments; stray markers (never expected) are dropped, never shown. */
export function highlightSegments(headline: string): SnippetSegment[] {
  const segments: SnippetSegment[] = [];
  let match = false;
  let current = '';
  const push = () => {
    if (current !== '') {
      const last = segments[segments.length - 1];
      if (last && last.match === match) last.text += current;
      else segments.push({ text: current, match });
    }
    current = '';
  };
  for (const char of headline) {
    if (char === MATCH_START || char === MATCH_END) {
      push();
      match = char === MATCH_START;
    } else {
      current += char;
    }
  }
  push();
  return segments;
}
