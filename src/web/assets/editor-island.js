// @ts-check
// The editor island: CodeMirror 6 over the editor form's <textarea>. Bundled with esbuild when the server starts
// (src/web/assets.ts); without it (no JavaScript, or a failed bundle) the textarea is the editor and still saves.
//
// The textarea stays in the form and stays the thing that is posted: the island hides it, mirrors every change
// into it, and fires its `input` event, so the live preview in editor.js (debounced, rendered by the server's
// publishing pipeline) and the leave-page warning work the same with or without CodeMirror.
//
// Styles: CodeMirror injects a <style> element at run time. The page's Content-Security-Policy allows it through a
// per-response style nonce, which the server puts on this script's own <script> tag (`nonce`, hidden from the DOM
// by the browser but readable as the `nonce` property) and CodeMirror copies onto its <style> element.
import './editor.js';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { markdownKeymap, markdownLanguage, pasteURLAsLink } from '@codemirror/lang-markdown';
import { yamlFrontmatter } from '@codemirror/lang-yaml';
import { indentOnInput, LanguageSupport, syntaxHighlighting } from '@codemirror/language';
import { highlightSelectionMatches, search, searchKeymap } from '@codemirror/search';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import {
  crosshairCursor,
  drawSelection,
  dropCursor,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from '@codemirror/view';
import { tagHighlighter, tags as t } from '@lezer/highlight';

/** Syntax classes (`md-*`), coloured in app.css with the site's palette, light and dark. */
const highlighter = tagHighlighter([
  { tag: [t.heading1, t.heading2], class: 'md-heading md-heading-major' },
  { tag: t.heading, class: 'md-heading' },
  { tag: t.strong, class: 'md-strong' },
  { tag: t.emphasis, class: 'md-emphasis' },
  { tag: t.strikethrough, class: 'md-strike' },
  { tag: [t.link, t.url], class: 'md-link' },
  { tag: t.monospace, class: 'md-code' },
  { tag: t.quote, class: 'md-quote' },
  { tag: [t.processingInstruction, t.contentSeparator], class: 'md-mark' },
  { tag: [t.labelName, t.string], class: 'md-label' },
  { tag: [t.comment, t.lineComment], class: 'md-comment' },
  { tag: t.meta, class: 'md-meta' },
  { tag: t.definition(t.propertyName), class: 'md-key' },
  { tag: [t.separator, t.punctuation, t.squareBracket, t.brace], class: 'md-punct' },
  { tag: [t.atom, t.typeName, t.keyword], class: 'md-keyword' },
]);

/** Layout of the editor; colours come from the page's CSS variables, so dark mode follows the site. */
const theme = EditorView.theme({
  '&': { height: '100%', backgroundColor: 'var(--bg)', color: 'var(--text)' },
  '&.cm-focused': { outline: 'none' },
  '.cm-scroller': { fontFamily: 'var(--font-mono)', fontSize: '0.875rem', lineHeight: '1.6', overflow: 'auto' },
  '.cm-content': { padding: '0.75rem 0', caretColor: 'var(--text)' },
  '.cm-line': { padding: '0 1rem 0 0.75rem' },
  '.cm-gutters': { backgroundColor: 'var(--bg-subtle)', color: 'var(--text-faint)', borderRight: '1px solid var(--border)' },
  '.cm-lineNumbers .cm-gutterElement': { padding: '0 0.6rem 0 0.9rem', minWidth: '2.2rem' },
  '.cm-activeLine': { backgroundColor: 'color-mix(in srgb, var(--accent-soft) 45%, transparent)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--bg-muted)', color: 'var(--text)' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection':
    { backgroundColor: 'color-mix(in srgb, var(--accent) 24%, transparent)' },
  '.cm-selectionMatch': { backgroundColor: 'color-mix(in srgb, var(--accent) 14%, transparent)' },
  '.cm-searchMatch': { backgroundColor: 'var(--confidential-bg)', outline: '1px solid var(--notice-border)' },
  '.cm-searchMatch.cm-searchMatch-selected': { backgroundColor: 'var(--notice-border)' },
  '.cm-panels': { backgroundColor: 'var(--bg-subtle)', color: 'var(--text)' },
  '.cm-panels.cm-panels-top': { borderBottom: '1px solid var(--border)' },
});

/**
 * GitHub-flavoured Markdown under a YAML front matter header, as the server reads documents. Built from the
 * language itself rather than `markdown()`, which would also bundle the HTML, CSS and JavaScript grammars (for
 * highlighting inline HTML) and double the island's size.
 */
const documentLanguage = yamlFrontmatter({
  content: new LanguageSupport(markdownLanguage, [pasteURLAsLink, Prec.high(keymap.of(markdownKeymap))]),
});

const darkScheme = window.matchMedia('(prefers-color-scheme: dark)');

for (const form of document.querySelectorAll('form[data-editor]')) {
  const textarea = form.querySelector('textarea[data-editor-source]');
  if (form instanceof HTMLFormElement && textarea instanceof HTMLTextAreaElement) mount(form, textarea);
}

/**
 * Replace the textarea (visually) with CodeMirror.
 * @param {HTMLFormElement} form
 * @param {HTMLTextAreaElement} textarea
 */
function mount(form, textarea) {
  const script = document.querySelector('script[data-editor-island]');
  const nonce = (script instanceof HTMLScriptElement && script.nonce) || '';
  const labelId = textarea.labels[0]?.id;
  const dark = new Compartment();

  /** Copy the editor's text into the textarea that the form posts. */
  const sync = () => {
    const text = view.state.doc.toString();
    if (textarea.value !== text) textarea.value = text;
  };
  const save = () => {
    sync();
    form.requestSubmit();
    return true;
  };

  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        dropCursor(),
        EditorState.allowMultipleSelections.of(true),
        EditorState.tabSize.of(2),
        indentOnInput(),
        rectangularSelection(),
        crosshairCursor(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        search({ top: true }),
        EditorView.lineWrapping,
        documentLanguage,
        syntaxHighlighting(highlighter),
        keymap.of([{ key: 'Mod-s', run: save, preventDefault: true }, ...defaultKeymap, ...searchKeymap, ...historyKeymap, indentWithTab]),
        theme,
        dark.of(EditorView.darkTheme.of(darkScheme.matches)),
        EditorView.cspNonce.of(nonce),
        EditorView.contentAttributes.of({
          spellcheck: 'false',
          autocapitalize: 'off',
          autocorrect: 'off',
          ...(labelId ? { 'aria-labelledby': labelId } : { 'aria-label': 'Markdown source' }),
        }),
        // Every change reaches the textarea at once, and its `input` event drives editor.js (preview, leave warning).
        EditorView.updateListener.of((update) => {
          if (!update.docChanged) return;
          sync();
          textarea.dispatchEvent(new Event('input', { bubbles: true }));
        }),
      ],
    }),
  });

  const host = document.createElement('div');
  host.className = 'editor-island';
  host.appendChild(view.dom);
  textarea.after(host);
  // The textarea leaves the page's layout and focus order but stays in the form (and so in what is posted).
  textarea.closest('.editor-pane')?.setAttribute('data-island', 'ready');
  textarea.tabIndex = -1;
  textarea.setAttribute('aria-hidden', 'true');

  // The keyboard shortcut, shown next to the Save button.
  const hint = form.querySelector('[data-editor-shortcut]');
  if (hint instanceof HTMLElement) {
    const kbd = document.createElement('kbd');
    kbd.textContent = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘S' : 'Ctrl+S';
    hint.replaceChildren(kbd, ' saves');
    hint.hidden = false;
  }

  // Its label now points at CodeMirror.
  for (const label of textarea.labels) {
    label.addEventListener('click', (event) => {
      event.preventDefault();
      view.focus();
    });
  }
  darkScheme.addEventListener('change', () => view.dispatch({ effects: dark.reconfigure(EditorView.darkTheme.of(darkScheme.matches)) }));
  // Whatever submits the form (button, Enter in the message field, Mod-s), the textarea holds the latest text.
  form.addEventListener('submit', sync, { capture: true });
  const name = textarea.name;
  form.addEventListener('formdata', (event) => event.formData.set(name, view.state.doc.toString()));
}
