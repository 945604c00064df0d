/**
 * GFM task list items (`- [ ] todo`, `- [x] done`) as disabled checkboxes. A core rule of a few lines, because
 * the markdown-it-task-lists package has not been maintained since 2018.
 */
import type { MarkdownIt, StateCore, Token } from 'markdown-it';
import { sanitizeDocumentHtml } from './sanitize.ts';

const MARKER = /^\[([ xX])\][ \t]/;

// The checkboxes exactly as the sanitizer writes them, so a document without other raw HTML needs no sanitizer.
const CHECKBOX = {
  open: sanitizeDocumentHtml('<input class="task-list-item-checkbox" type="checkbox" disabled> '),
  checked: sanitizeDocumentHtml('<input class="task-list-item-checkbox" type="checkbox" disabled checked> '),
};
const TRUSTED = Symbol('trusted task-list checkbox');

/** Whether an `html_inline` token is a checkbox this plugin made (already in sanitized form). */
export function isTrustedHtmlToken(token: Token): boolean {
  return (token.meta as { [TRUSTED]?: boolean } | null)?.[TRUSTED] === true;
}

/** markdown-it plugin: turn list items starting with `[ ]` / `[x]` into task items with a disabled checkbox. */
export function taskLists(md: MarkdownIt): void {
  md.core.ruler.after('text_join', 'task_lists', (state: StateCore) => {
    const tokens = state.tokens;
    // Open lists, innermost last: a task item's list gets `contains-task-list` (one pass, no search backwards).
    const lists: Token[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token.type === 'bullet_list_open' || token.type === 'ordered_list_open') lists.push(token);
      else if (token.type === 'bullet_list_close' || token.type === 'ordered_list_close') lists.pop();
      if (i < 2 || token.type !== 'inline' || tokens[i - 1]!.type !== 'paragraph_open' || tokens[i - 2]!.type !== 'list_item_open') {
        continue;
      }
      const first = token.children?.[0];
      const match = first?.type === 'text' ? MARKER.exec(first.content) : null;
      if (!first || !match) continue;

      first.content = first.content.slice(match[0].length);
      const checkbox = new state.Token('html_inline', '', 0);
      checkbox.content = match[1] === ' ' ? CHECKBOX.open : CHECKBOX.checked;
      checkbox.meta = { [TRUSTED]: true };
      token.children!.unshift(checkbox);
      tokens[i - 2]!.attrJoin('class', 'task-list-item');
      const list = lists[lists.length - 1];
      if (list && !String(list.attrGet('class') ?? '').split(' ').includes('contains-task-list')) list.attrJoin('class', 'contains-task-list');
    }
  });
}
