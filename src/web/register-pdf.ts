/**
 * The print page of the evidence pack's policy register, for the PDF renderer (pdf-renderer.ts): the same
 * self-contained print template as a document version's (inline stylesheet, a CSP that allows no request), A4
 * landscape, with the organization, the period and the moment it was generated in the header and footer of
 * every page. Not cached: a register is of the moment it is asked for.
 */
import { escapeHtml } from '../content/escape-html.ts';
import type { PolicyRegister } from '../evidence/evidence-pack.ts';
import { PRINT_CSP, PRINT_CSS, MARGIN_STYLE } from './document-pdf.ts';
import type { PdfJob } from './pdf-renderer.ts';
import { renderRegisterPrintBody } from './views/register-print.tsx';

const REGISTER_CSS = `
@page { size: A4 landscape; }
table.register { font-size: 8pt; }
table.register code { font-size: 7.5pt; }
table.register th { background: #eee; }
thead { display: table-header-group; }
`;

export function registerPdfJob(register: PolicyRegister): PdfJob {
  const generatedAt = `${register.generatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const scope = register.projectSlug ?? 'every project';
  const period = `${register.from} to ${register.to}`;
  const body = renderRegisterPrintBody({ orgName: register.org.name, scope, from: register.from, to: register.to, generatedAt, rows: register.rows });
  const title = `Policy register · ${register.org.name} · ${period}`;
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${PRINT_CSP}"><title>${escapeHtml(title)}</title><style>${PRINT_CSS}${REGISTER_CSS}</style></head><body>${body}</body></html>`;
  return {
    key: null,
    landscape: true,
    html,
    headerHtml: `<div style="${MARGIN_STYLE}"><span style="font-weight: bold;">${escapeHtml(register.org.name)}</span><span>${escapeHtml(`Policy register · ${period} · ${scope}`)}</span></div>`,
    footerHtml: `<div style="${MARGIN_STYLE}"><span>${escapeHtml(`${register.org.name} · ${period} · Generated ${generatedAt}`)}</span><span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`,
  };
}
