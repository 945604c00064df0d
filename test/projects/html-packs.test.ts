import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  decodeHtmlRecord,
  encodeHtmlRecord,
  projectHtmlDir,
  readHtml,
  writeHtmlPack,
  writeHtmlPackSync,
  type HtmlLocation,
} from '../../src/projects/html-packs.ts';

const root = mkdtempSync(join(tmpdir(), 'docucommit-html-packs-'));
after(() => rmSync(root, { recursive: true, force: true }));

const packFileOf = (dir: string, location: HtmlLocation) => join(dir, location.pack.slice(0, 2), `${location.pack.slice(2)}.pack`);

test('a record holds its HTML, length and digest; anything cut short or altered reads as missing', () => {
  const html = '<p>Grüße — «policy» 🚀</p>';
  const record = encodeHtmlRecord(html);
  assert.equal(decodeHtmlRecord(record), html);
  assert.equal(decodeHtmlRecord(record.subarray(0, record.length - 1)), null, 'truncated');
  const altered = Buffer.from(record);
  altered[altered.length - 3] = altered[altered.length - 3]! ^ 0x01;
  assert.equal(decodeHtmlRecord(altered), null, 'one bit flipped');
  assert.equal(decodeHtmlRecord(Buffer.alloc(0)), null, 'empty (a rename without fsync after a crash)');
  assert.equal(decodeHtmlRecord(Buffer.alloc(record.length)), null, 'zeros');
  assert.equal(decodeHtmlRecord(Buffer.from('<p>plain html without a header</p>')), null);
});

test('a pack written by a worker (sync) or the main thread (async) gives back each document by its location', async () => {
  const dir = projectHtmlDir(root, '0b7f6c1e-2d1e-4b8e-9f3a-5a1c2d3e4f50');
  const htmls = ['<h2 id="a">A</h2>', '', '<p>third</p>'.repeat(1000), '<p>ünïcödé</p>'];
  for (const write of [async (h: string[]) => writeHtmlPackSync(dir, h), (h: string[]) => writeHtmlPack(dir, h)]) {
    const locations = await write(htmls);
    assert.equal(new Set(locations.map((l) => l.pack)).size, 1, 'one pack for the batch');
    for (const [i, location] of locations.entries()) assert.equal(await readHtml(dir, location), htmls[i]);
  }
  const leftovers = readdirSync(dir, { recursive: true }).filter((name) => String(name).endsWith('.tmp'));
  assert.deepEqual(leftovers, [], 'no temporary files left behind');
});

test('a missing pack, a pack cut short and a location past its end read as missing (to be rendered again)', async () => {
  const dir = projectHtmlDir(root, 'project-2');
  const [first, second] = await writeHtmlPack(dir, ['<p>one</p>', '<p>two</p>']);
  assert.equal(await readHtml(dir, { ...first!, pack: 'f'.repeat(32) }), null, 'no such pack');
  assert.equal(await readHtml(dir, { ...second!, offset: second!.offset + 5 }), null, 'wrong offset');
  assert.equal(await readHtml(dir, { ...second!, length: second!.length + 10 }), null, 'past the end');
  truncateSync(packFileOf(dir, second!), second!.offset + 10);
  assert.equal(await readHtml(dir, first!), '<p>one</p>', 'the intact record still reads');
  assert.equal(await readHtml(dir, second!), null, 'the cut record does not');
  writeFileSync(packFileOf(dir, first!), '');
  assert.equal(await readHtml(dir, first!), null, 'an empty file');
});

test('pack names and project ids that could leave the folder are refused', async () => {
  assert.throws(() => projectHtmlDir(root, '../other'), /unexpected project id/);
  assert.throws(() => projectHtmlDir(root, 'a/b'), /unexpected project id/);
  assert.throws(() => projectHtmlDir(root, ''), /unexpected project id/);
  const dir = projectHtmlDir(root, 'project-3');
  for (const pack of ['../../../../etc/passwd', `${'a'.repeat(30)}/x`, 'A'.repeat(32), 'a'.repeat(33), '']) {
    await assert.rejects(readHtml(dir, { pack, offset: 0, length: 10 }), /unexpected HTML pack name/, pack);
  }
  assert.equal(readFileSync(packFileOf(dir, (await writeHtmlPack(dir, ['x']))[0]!)).length > 0, true);
});

test('packs are still written after the cache folder was removed while running', async () => {
  const dir = projectHtmlDir(root, 'project-4');
  const first = (await writeHtmlPack(dir, ['<p>before</p>']))[0]!;
  // enough packs that this thread knows (nearly) every one of the 256 fan-out folders
  for (let i = 0; i < 1500; i++) writeHtmlPackSync(dir, ['<p>before, sync</p>']);
  rmSync(join(root, 'project-4'), { recursive: true, force: true });
  // the fan-out folders are known to this thread but gone: writing must make them again
  for (let i = 0; i < 40; i++) {
    const [location] = i % 2 ? writeHtmlPackSync(dir, [`<p>${i}</p>`]) : await writeHtmlPack(dir, [`<p>${i}</p>`]);
    assert.equal(await readHtml(dir, location!), `<p>${i}</p>`);
  }
  assert.equal(await readHtml(dir, first), null, 'the removed pack is gone');
});
