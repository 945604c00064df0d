/**
 * Writes many blobs with one `git fast-import` process: contents stream from memory (no temporary files, no
 * process per file) and git names each blob through its marks file. Below fastimport.unpackLimit (100 objects)
 * git stores them as loose objects, above it as one pack. A single blob goes through `git hash-object`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runGit } from './run.ts';

/** Up to this many bytes of content, git's input is built as one Buffer (sent through the spawner). */
const BUFFERED_INPUT_BYTES = 8 * 1024 * 1024;

/** Writes `contents` as blobs into the repository at `gitDir`; returns their ids in the same order. */
export async function writeBlobs(gitDir: string, contents: readonly (Buffer | string)[], workDir: string): Promise<string[]> {
  if (contents.length === 0) return [];
  if (contents.length === 1) {
    // One blob (an editor save): `hash-object` is one process, where fast-import would start a second one to
    // unpack its one-object pack (below fastimport.unpackLimit). Each git process costs 10–15 ms.
    const only = contents[0]!;
    const { stdout } = await runGit({
      gitDir,
      args: ['hash-object', '-w', '--no-filters', '--stdin'],
      input: typeof only === 'string' ? Buffer.from(only, 'utf8') : only,
      timeoutMs: 30_000 + Math.ceil(only.length / (1024 * 1024)) * 1_000,
    });
    const oid = stdout.toString('ascii').trim();
    if (!/^[0-9a-f]{40}$/.test(oid)) throw new Error(`git hash-object printed ${JSON.stringify(oid.slice(0, 80))}, not a blob id`);
    return [oid];
  }
  const marksFile = join(workDir, 'blob-marks');
  function* commands(): Generator<Buffer> {
    for (let i = 0; i < contents.length; i++) {
      const item = contents[i]!;
      const data = typeof item === 'string' ? Buffer.from(item, 'utf8') : item;
      yield Buffer.from(`blob\nmark :${i + 1}\ndata ${data.length}\n`, 'ascii');
      yield data;
      yield Buffer.from('\n', 'ascii');
    }
    // with --done, input that ends early (a crashed writer) is an error rather than a shorter import
    yield Buffer.from('done\n', 'ascii');
  }
  const totalBytes = contents.reduce((sum, c) => sum + c.length, 0);
  await runGit({
    gitDir,
    // --depth=0: no delta against the previous blob, which fast-import otherwise tries for every blob (unrelated
    // documents: a third of its CPU for ~2 % smaller packs; `git gc` deltifies properly later)
    args: ['fast-import', '--quiet', '--done', '--depth=0', `--export-marks=${marksFile}`],
    // small batches (an editor save) as one Buffer, which the spawner can take; large imports are written to git
    // as it reads them
    input: totalBytes <= BUFFERED_INPUT_BYTES ? Buffer.concat([...commands()]) : { pieces: commands() },
    // one deadline for the whole batch, generous enough for large imports
    timeoutMs: 30_000 + Math.ceil(totalBytes / (1024 * 1024)) * 1_000,
  });

  const oids = new Array<string>(contents.length);
  for (const line of (await readFile(marksFile, 'ascii')).split('\n')) {
    const match = /^:(\d+) ([0-9a-f]{40})$/.exec(line);
    if (match) oids[Number(match[1]) - 1] = match[2]!;
  }
  for (let i = 0; i < oids.length; i++) {
    if (!oids[i]) throw new Error(`git fast-import did not report blob ${i + 1} of ${contents.length}`);
  }
  return oids;
}
