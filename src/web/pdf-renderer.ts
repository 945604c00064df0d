/**
 * PDFs printed by the system Chromium (driven by playwright-core, never a downloaded browser).
 *
 * - One browser process for the whole server, started on the first PDF and started again if it dies.
 * - At most `concurrency` PDFs print at once; up to `queueLimit` more wait; beyond that the answer is 503.
 * - Each PDF has a time budget (`timeoutMs`): past it, its browser context is closed and the answer is 503.
 * - The page is our own HTML (sanitized document HTML in our print template), loaded with `setContent` in a
 *   context with JavaScript disabled, offline, service workers blocked, every request aborted except `data:`
 *   URLs and the job's own `resources` (its authorized images, answered from memory by exact URL), and a CSP
 *   that allows nothing else: a hostile document (remote image, script, CSS import) makes no request (no
 *   SSRF). The print stylesheet is inline.
 * - PDFs are cached by a key the caller derives from the version and the template's version (RENDERER_VERSION).
 *
 * Without Chromium (no executable at `executablePath`), every PDF answers 503 with a message saying so.
 */
import type { Browser } from 'playwright-core';
import { DEFAULT_CHROMIUM_PATH } from '../config/config.ts';
import { UnavailableError } from '../errors.ts';

/** Bumped when the print template or header and footer change: cached PDFs of older templates are not reused. */
export const PDF_RENDERER_VERSION = 'pdf-2';

export const CHROMIUM_MISSING_MESSAGE =
  'PDF export needs Chromium on the server, and it is not installed here. Ask your administrator to install it (Debian: apt install chromium, or set CHROMIUM_PATH), or use your browser’s Print command on the page.';

export interface PdfRendererOptions {
  /** The Chromium executable (default /usr/bin/chromium; the server passes config.chromiumPath, from CHROMIUM_PATH). */
  executablePath?: string;
  concurrency?: number;
  queueLimit?: number;
  timeoutMs?: number;
  /** Bytes of PDFs kept in memory. */
  cacheBytes?: number;
}

/** What a PDF is printed from: a whole HTML document, and the header and footer of every page (HTML, escaped). */
export interface PdfJob {
  /** Cache key (version and renderer); null: not cached. */
  key: string | null;
  html: string;
  headerHtml: string;
  footerHtml: string;
  /** Wide tables (the policy register): A4 landscape. */
  landscape?: boolean;
  /**
   * What the page may load besides `data:` URLs, by exact URL (the version's own images, already authorized:
   * web/pdf-images.ts), answered from memory; every other request is still aborted.
   */
  resources?: ReadonlyMap<string, PdfResource>;
}

/** A file the print page may load, answered by the renderer itself (never fetched). */
export interface PdfResource {
  contentType: string;
  body: Buffer;
}

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
  '--disable-extensions',
  '--disable-dev-shm-usage',
];

export class PdfRenderer {
  readonly #executablePath: string;
  readonly #concurrency: number;
  readonly #queueLimit: number;
  readonly #timeoutMs: number;
  readonly #cacheBytes: number;
  #browser: Promise<Browser> | null = null;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #cache = new Map<string, Buffer>();
  #cached = 0;
  #closed = false;

  constructor(options: PdfRendererOptions = {}) {
    this.#executablePath = options.executablePath ?? DEFAULT_CHROMIUM_PATH;
    this.#concurrency = options.concurrency ?? 2;
    this.#queueLimit = options.queueLimit ?? 16;
    this.#timeoutMs = options.timeoutMs ?? 20_000;
    this.#cacheBytes = options.cacheBytes ?? 64 * 1024 * 1024;
  }

  /** A cached PDF, if there is one for `key` (no browser needed). */
  cachedPdf(key: string): Buffer | null {
    const hit = this.#cache.get(key);
    if (!hit) return null;
    this.#cache.delete(key);
    this.#cache.set(key, hit);
    return hit;
  }

  /** The PDF of `job`: from the cache, or printed. UnavailableError without Chromium, when busy or past the budget. */
  async render(job: PdfJob): Promise<Buffer> {
    const hit = job.key === null ? null : this.cachedPdf(job.key);
    if (hit) return hit;
    if (this.#closed) throw new UnavailableError('The server is shutting down.');
    await this.#slot();
    try {
      const pdf = await this.#print(job);
      if (job.key !== null) this.#remember(job.key, pdf);
      return pdf;
    } finally {
      this.#release();
    }
  }

  /** Stops the browser (the app's close). */
  async close(): Promise<void> {
    this.#closed = true;
    const browser = this.#browser;
    this.#browser = null;
    if (browser) await (await browser.catch(() => null))?.close().catch(() => undefined);
  }

  async #print(job: PdfJob): Promise<Buffer> {
    const browser = await this.#launch();
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true, serviceWorkers: 'block', acceptDownloads: false });
    let timer: NodeJS.Timeout | undefined;
    try {
      // nothing leaves the browser: our template is self-contained (inline styles, data: URLs), and the few files
      // the job hands over (its images) are answered from memory, by exact URL
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('data:')) return route.continue();
        const resource = job.resources?.get(url);
        if (resource && route.request().method() === 'GET') {
          return route.fulfill({ status: 200, contentType: resource.contentType, body: resource.body, headers: { 'x-content-type-options': 'nosniff' } });
        }
        return route.abort('blockedbyclient');
      });
      const work = (async () => {
        const page = await context.newPage();
        await page.setContent(job.html, { waitUntil: 'load', timeout: this.#timeoutMs });
        return page.pdf({
          format: 'A4',
          landscape: job.landscape === true,
          printBackground: true,
          displayHeaderFooter: true,
          headerTemplate: job.headerHtml,
          footerTemplate: job.footerHtml,
          margin: { top: '22mm', bottom: '22mm', left: '16mm', right: '16mm' },
        });
      })();
      const budget = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new UnavailableError('The PDF took too long to produce. Try again later.')), this.#timeoutMs);
      });
      work.catch(() => undefined);
      return await Promise.race([work, budget]);
    } finally {
      clearTimeout(timer);
      await context.close().catch(() => undefined);
    }
  }

  /** The shared browser, started once (and again after it died or failed to start). */
  #launch(): Promise<Browser> {
    if (!this.#browser) {
      const starting = (async () => {
        const { chromium } = await import('playwright-core');
        try {
          const browser = await chromium.launch({ executablePath: this.#executablePath, args: LAUNCH_ARGS, timeout: 30_000 });
          browser.on('disconnected', () => {
            if (this.#browser === starting) this.#browser = null;
          });
          return browser;
        } catch {
          throw new UnavailableError(CHROMIUM_MISSING_MESSAGE);
        }
      })();
      this.#browser = starting;
      starting.catch(() => {
        if (this.#browser === starting) this.#browser = null;
      });
    }
    return this.#browser;
  }

  async #slot(): Promise<void> {
    if (this.#running < this.#concurrency) {
      this.#running++;
      return;
    }
    if (this.#waiting.length >= this.#queueLimit) throw new UnavailableError('Too many PDFs are being produced right now. Try again in a minute.');
    // the slot is handed over by #release (the running count stays)
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }

  #remember(key: string, pdf: Buffer): void {
    if (pdf.length > this.#cacheBytes / 4) return;
    const before = this.#cache.get(key);
    if (before) this.#cached -= before.length;
    this.#cache.set(key, pdf);
    this.#cached += pdf.length;
    for (const [oldest, bytes] of this.#cache) {
      if (this.#cached <= this.#cacheBytes) break;
      this.#cache.delete(oldest);
      this.#cached -= bytes.length;
    }
  }
}
