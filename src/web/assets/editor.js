// @ts-check
// The editor's live preview: while the author types, the Markdown goes to the preview endpoint (debounced) and
// the sanitized HTML it returns — rendered by the same pipeline as the published page — replaces the preview.
// Without this script the form still saves; the preview then shows the text as it was when the page loaded.
// The CodeMirror island (editor-island.js) imports this script and keeps the textarea in sync, firing its `input`
// event, so the preview works the same under CodeMirror; served alone, it is the fallback editor.
const DEBOUNCE_MS = 250;

for (const form of document.querySelectorAll('form[data-editor]')) {
  const source = form.querySelector('textarea[data-editor-source]');
  const preview = form.querySelector('.editor-preview .doc-body');
  const title = form.querySelector('[data-preview-title]');
  const status = form.querySelector('[data-preview-status]');
  const csrf = form.querySelector('input[name="_csrf"]');
  const pathInput = form.querySelector('input[name="path"]');
  const url = form.getAttribute('data-preview-url');
  if (!(form instanceof HTMLFormElement) || !(source instanceof HTMLTextAreaElement) || !preview || !(csrf instanceof HTMLInputElement) || !url) continue;

  let timer = 0;
  let sequence = 0;
  let dirty = false;

  /** @param {string} text @param {'busy' | 'ok' | 'error'} state */
  const setStatus = (text, state) => {
    if (!status) return;
    status.textContent = text;
    status.setAttribute('data-state', state);
  };

  const refresh = async () => {
    const mine = ++sequence;
    setStatus('Updating…', 'busy');
    try {
      const response = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf.value },
        body: JSON.stringify({ path: (pathInput instanceof HTMLInputElement && pathInput.value) || 'preview.md', source: source.value }),
      });
      if (mine !== sequence) return; // a newer request is on its way
      if (!response.ok) {
        setStatus(response.status === 403 ? 'Preview unavailable: reload the page' : 'Preview unavailable', 'error');
        return;
      }
      const result = await response.json();
      if (mine !== sequence) return;
      // HTML from the server's sanitizer, the same markup the published page contains
      preview.innerHTML = result.html;
      if (title) title.textContent = result.title;
      const problems = Array.isArray(result.errors) ? result.errors : [];
      if (problems.length > 0) {
        const first = problems[0];
        setStatus(`Front matter problem, line ${first.line}: ${first.message}`, 'error');
      } else {
        setStatus('Preview up to date', 'ok');
      }
    } catch {
      if (mine === sequence) setStatus('Preview unavailable (offline?)', 'error');
    }
  };

  source.addEventListener('input', () => {
    dirty = true;
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, DEBOUNCE_MS);
  });

  // Tab indents inside the source instead of leaving it (Escape then Tab leaves, as in other code editors).
  let escaped = false;
  source.addEventListener('keydown', (event) => {
    // Mod-s saves, as in the CodeMirror island (and instead of the browser's "save page as").
    if ((event.key === 's' || event.key === 'S') && (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (event.key === 'Escape') {
      escaped = true;
      return;
    }
    if (event.key === 'Tab' && !event.shiftKey && !escaped && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      source.setRangeText('  ', source.selectionStart, source.selectionEnd, 'end');
      source.dispatchEvent(new Event('input'));
    }
    escaped = false;
  });

  form.addEventListener('submit', () => {
    dirty = false;
  });
  window.addEventListener('beforeunload', (event) => {
    if (dirty) event.preventDefault();
  });
}
