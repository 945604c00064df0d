/**
 * GFM task list items (`- [ ] todo`, `- [x] done`) as disabled checkboxes. A core rule of a few lines, because
 * the markdown-it-task-lists package has not been maintained since 2018.
 */
import type { MarkdownIt, StateCore, Token } from 'markdown-it';

const MARKER = /^\[([ xX])\][ \t]/;

/** markdown-it plugin: turn list items starting with `[ ]` / `[x]` into task items with a disabled checkbox. */
export function taskLists(md: MarkdownIt): void {
  md.core.ruler.after('text_join', 'task_lists', (state: StateCore) => {
    const tokens = state.tokens;
    for (let i = 2; i < tokens.length; i++) {
      const inline = tokens[i]!;
      if (inline.type !== 'inline' || tokens[i - 1]!.type !== 'paragraph_open' || tokens[i - 2]!.type !== 'list_item_open') {
        continue;
      }
      const first = inline.children?.[0];
      const match = first?.type === 'text' ? MARKER.exec(first.content) : null;
      if (!first || !match) continue;

      first.content = first.content.slice(match[0].length);
      const checkbox = new state.Token('html_inline', '', 0);
      checkbox.content = `<input class="task-list-item-checkbox" type="checkbox" disabled${match[1] === ' ' ? '' : ' checked'}> `;
      inline.children!.unshift(checkbox);
      tokens[i - 2]!.attrJoin('class', 'task-list-item');
      addClassToParentList(tokens, i - 2);
    }
  });
}

function addClassToParentList(tokens: Token[], itemIndex: number): void {
  const level = tokens[itemIndex]!.level - 1;
  for (let j = itemIndex - 1; j >= 0; j--) {
    const token = tokens[j]!;
    if (token.level === level && (token.type === 'bullet_list_open' || token.type === 'ordered_list_open')) {
      if (!String(token.attrGet('class') ?? '').split(' ').includes('contains-task-list')) token.attrJoin('class', 'contains-task-list');
      return;
    }
  }
}
