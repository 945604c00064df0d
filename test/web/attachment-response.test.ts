import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deliveryOf, isAttachmentEntry } from '../../src/projects/attachments.ts';
import { dispositionOf, parseRange } from '../../src/web/attachment-response.ts';

describe('deliveryOf', () => {
  it('shows images, PDFs and plain text inline', () => {
    assert.deepEqual(deliveryOf('a/b.PNG', false), { contentType: 'image/png', disposition: 'inline' });
    assert.deepEqual(deliveryOf('r.pdf', false), { contentType: 'application/pdf', disposition: 'inline' });
    assert.deepEqual(deliveryOf('notes.txt', false), { contentType: 'text/plain; charset=utf-8', disposition: 'inline' });
  });

  it('shows an SVG only when it is loaded as an image', () => {
    assert.deepEqual(deliveryOf('logo.svg', true), { contentType: 'image/svg+xml', disposition: 'inline' });
    assert.deepEqual(deliveryOf('logo.svg', false), { contentType: 'application/octet-stream', disposition: 'attachment' });
  });

  it('downloads HTML, scripts and anything unknown as opaque bytes', () => {
    for (const path of ['page.html', 'page.htm', 'x.xhtml', 'a.js', 'a.mjs', 'x.xml', 'Makefile', 'a.svgz', 'b.html.png.exe']) {
      assert.deepEqual(deliveryOf(path, true), { contentType: 'application/octet-stream', disposition: 'attachment' }, path);
    }
    assert.equal(deliveryOf('budget.xlsx', false).disposition, 'attachment');
  });
});

describe('isAttachmentEntry', () => {
  it('takes regular non-Markdown files outside dot-folders and -/', () => {
    const file = (path: string, mode = '100644') => isAttachmentEntry({ path, mode, type: 'blob' });
    assert.ok(file('images/a.png'));
    assert.ok(file('run.sh', '100755'));
    assert.ok(!file('doc.md'));
    assert.ok(!file('.github/logo.png'));
    assert.ok(!file('a/.hidden/x.png'));
    assert.ok(!file('-/x.png'));
    assert.ok(!file('link.png', '120000'));
    assert.ok(!isAttachmentEntry({ path: 'sub', mode: '160000', type: 'commit' }));
  });
});

describe('parseRange', () => {
  const etag = '"abc"';
  it('reads one range, an open end and a suffix', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100, undefined, etag), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100, undefined, etag), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=95-200', 100, undefined, etag), { start: 95, end: 99 });
    assert.deepEqual(parseRange('bytes=-10', 100, undefined, etag), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-500', 100, undefined, etag), { start: 0, end: 99 });
  });
  it('answers the whole file for several ranges, malformed ones and a stale If-Range', () => {
    for (const header of ['bytes=0-1,5-6', 'bytes=5-1', 'items=0-1', 'bytes=-', 'bytes=x-1']) assert.equal(parseRange(header, 100, undefined, etag), null, header);
    assert.equal(parseRange('bytes=0-1', 100, '"old"', etag), null);
    assert.deepEqual(parseRange('bytes=0-1', 100, etag, etag), { start: 0, end: 1 });
  });
  it('is unsatisfiable past the end', () => {
    assert.equal(parseRange('bytes=100-', 100, undefined, etag), 'unsatisfiable');
    assert.equal(parseRange('bytes=-0', 100, undefined, etag), 'unsatisfiable');
  });
});

describe('dispositionOf', () => {
  it('names the file safely in ASCII and in UTF-8', () => {
    assert.equal(dispositionOf('attachment', 'a/Résumé "final".pdf'), `attachment; filename="R_sum_ _final_.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf`);
  });
});
