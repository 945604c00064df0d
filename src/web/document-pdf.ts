/**
 * The print page of one document version, for the PDF renderer (pdf-renderer.ts): our sanitized document HTML
 * in a self-contained template (inline print stylesheet, a CSP that allows no request), with the
 * classification, version id and effective date in the header and footer of every page.
 */
import type { DocumentVersion } from '../changes/history.ts';
import { escapeHtml } from '../content/escape-html.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import { PRINT_ORIGIN, type PdfImages } from './pdf-images.ts';
import { PDF_RENDERER_VERSION, type PdfJob } from './pdf-renderer.ts';
import { renderPrintBody } from './views/print.tsx';

/** Nothing may load: no script, no image but inline ones, no font, no frame, no connection. */
export const PRINT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:";

/** A version's page: its own images too, from the made-up print origin the renderer answers for (pdf-images.ts). */
const VERSION_PRINT_CSP = `default-src 'none'; style-src 'unsafe-inline'; img-src data: ${PRINT_ORIGIN}; font-src data:`;

/** The print stylesheet: A4, readable type, tables and code that break well, redline marks. */
export const PRINT_CSS = `
@page { size: A4; }
html { font-family: 'Liberation Serif', 'DejaVu Serif', Georgia, serif; font-size: 11pt; color: #111; }
body { margin: 0; }
h1, h2, h3, h4 { font-family: 'Liberation Sans', 'DejaVu Sans', Arial, sans-serif; break-after: avoid; line-height: 1.25; }
h1 { font-size: 20pt; margin: 0 0 4pt; }
h2 { font-size: 14pt; margin: 16pt 0 6pt; }
h3 { font-size: 12pt; margin: 12pt 0 4pt; }
p, li { line-height: 1.45; orphans: 3; widows: 3; }
a { color: #111; text-decoration: underline; }
table { border-collapse: collapse; width: 100%; margin: 8pt 0; font-size: 9.5pt; }
th, td { border: 0.5pt solid #999; padding: 3pt 5pt; text-align: left; vertical-align: top; }
tr, img, pre, blockquote { break-inside: avoid; }
pre, code { font-family: 'Liberation Mono', 'DejaVu Sans Mono', monospace; font-size: 9pt; }
pre { background: #f4f4f4; padding: 6pt; white-space: pre-wrap; }
blockquote { border-left: 2pt solid #bbb; margin-left: 0; padding-left: 8pt; color: #333; }
img { max-width: 100%; }
ins { background: #dcf5e3; text-decoration: underline; }
del { background: #fbe0e0; }
.print-facts { font-family: 'Liberation Sans', 'DejaVu Sans', Arial, sans-serif; font-size: 9pt; color: #333; border-top: 0.5pt solid #999; border-bottom: 0.5pt solid #999; padding: 4pt 0; margin: 6pt 0 14pt; }
.print-facts span { margin-right: 14pt; }
.print-classification { font-weight: bold; text-transform: uppercase; letter-spacing: 0.05em; }
.print-notice { border: 0.5pt solid #999; padding: 6pt; }
`;

export const MARGIN_STYLE = 'font-family: Arial, sans-serif; font-size: 8pt; color: #444; width: 100%; margin: 0 16mm; display: flex; justify-content: space-between;';

/** What the PDF of a document version shows about it. */
export interface PrintedVersion {
  project: ProjectRecord;
  version: DocumentVersion;
  /** The attachments it embeds that the reader may fetch (none: images are left out). */
  images?: PdfImages;
}

/** The PDF job of a document version, cached by project, commit, path and template version. */
export function versionPdfJob({ project, version, images }: PrintedVersion): PdfJob {
  const { rendered } = version;
  const classification = rendered.classification.toUpperCase();
  const effective = rendered.effective ?? 'on publication';
  const versionId = version.commit;
  const title = `${rendered.title} (version ${versionId.slice(0, 8)})`;
  const body = renderPrintBody({
    title: rendered.title,
    projectName: project.name,
    path: version.path,
    classification: rendered.classification,
    versionId,
    effective,
    committed: version.time.toISOString().slice(0, 10),
    html: rendered.html,
    tooLarge: rendered.tooLarge === true,
  });
  // relative image addresses resolve against the document's folder on the print origin (only its images answer)
  const base = images ? `<base href="${escapeHtml(images.baseUrl)}">` : '';
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${VERSION_PRINT_CSP}">${base}<title>${escapeHtml(title)}</title><style>${PRINT_CSS}</style></head><body>${body}</body></html>`;
  return {
    // the images the reader may fetch are part of the PDF: another set of files, another PDF
    key: `${project.id}\0${version.commit}\0${version.path}\0${PDF_RENDERER_VERSION}\0${images?.key ?? ''}`,
    html,
    ...(images && images.resources.size > 0 ? { resources: images.resources } : {}),
    headerHtml: `<div style="${MARGIN_STYLE}"><span style="font-weight: bold; letter-spacing: 0.05em;">${escapeHtml(classification)}</span><span>${escapeHtml(`${rendered.title} · ${project.name}`)}</span></div>`,
    footerHtml: `<div style="${MARGIN_STYLE}"><span>${escapeHtml(`Version ${versionId.slice(0, 12)} · Effective ${effective} · ${classification}`)}</span><span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`,
  };
}
