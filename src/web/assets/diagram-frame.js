// Inside the sandboxed diagram frame (`/-/diagram`, see diagrams.js): waits for the page's diagram source, draws it
// with Mermaid (loaded before this script from our origin) and reports its height, or that it failed.

/** @typedef {{ initialize(config: object): void, render(id: string, text: string): Promise<{ svg: string }> }} Mermaid */

const mermaid = /** @type {{ mermaid?: Mermaid }} */ (/** @type {unknown} */ (window)).mermaid;
let drawn = false;

/** @param {object} message */
const tell = (message) => window.parent.postMessage(message, '*');

if (!mermaid) {
  tell({ kind: 'failed', error: 'Mermaid is not installed' });
} else {
  // strict: labels are sanitized, no clicks or scripts in diagrams
  mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
  window.addEventListener('message', (event) => {
    if (event.source !== window.parent || drawn) return;
    const data = /** @type {{ kind?: unknown, source?: unknown }} */ (event.data);
    if (typeof data !== 'object' || data === null || data.kind !== 'draw' || typeof data.source !== 'string') return;
    drawn = true;
    mermaid
      .render('mermaid-diagram', data.source.slice(0, 50_000))
      .then(({ svg }) => {
        const holder = document.getElementById('diagram-holder');
        if (!holder) throw new Error('no holder');
        holder.innerHTML = svg;
        tell({ kind: 'drawn', height: document.documentElement.scrollHeight });
      })
      .catch(() => tell({ kind: 'failed' }));
  });
  tell({ kind: 'ready' });
}
