// Mermaid diagrams. A ```mermaid block is rendered by the server as plain code (`<pre><code class="language-mermaid">`),
// readable without JavaScript. When a page has one, this script draws each diagram in a sandboxed frame
// (`/-/diagram`: an opaque origin with its own Content-Security-Policy, the only place where Mermaid's inline
// styles are allowed) and shows the frame in place of the code once the frame says the diagram is drawn. The
// page itself keeps its policy: no inline style or script, nothing of Mermaid runs in its origin. When Mermaid is
// not installed, or a diagram cannot be drawn, the code stays.

const FRAME_URL = '/-/diagram';

/** @param {HTMLElement} code */
function draw(code) {
  const pre = code.parentElement;
  if (!(pre instanceof HTMLPreElement) || pre.dataset.diagram) return;
  pre.dataset.diagram = 'pending';
  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', 'allow-scripts');
  frame.setAttribute('title', 'Diagram');
  frame.className = 'diagram-frame diagram-frame-pending';
  frame.src = FRAME_URL;
  const source = code.textContent ?? '';
  /** @param {MessageEvent} event */
  const onMessage = (event) => {
    if (event.source !== frame.contentWindow || typeof event.data !== 'object' || event.data === null) return;
    const data = /** @type {{ kind?: unknown, height?: unknown, error?: unknown }} */ (event.data);
    if (data.kind === 'ready') {
      frame.contentWindow?.postMessage({ kind: 'draw', source }, '*');
    } else if (data.kind === 'drawn' && typeof data.height === 'number' && data.height > 0) {
      // CSSOM, not a style attribute: allowed by the page's policy
      frame.style.height = `${Math.min(Math.ceil(data.height), 4000)}px`;
      frame.classList.remove('diagram-frame-pending');
      pre.hidden = true;
      pre.dataset.diagram = 'drawn';
    } else if (data.kind === 'failed') {
      window.removeEventListener('message', onMessage);
      frame.remove();
      pre.dataset.diagram = 'failed';
    }
  };
  window.addEventListener('message', onMessage);
  pre.before(frame);
}

const blocks = document.querySelectorAll('pre > code.language-mermaid');
for (const code of Array.from(blocks)) if (code instanceof HTMLElement) draw(code);
