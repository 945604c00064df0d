import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { NotFoundError } from '../errors.ts';
import { GitError, killGit, spawnGit } from './run.ts';

export interface GitObject {
  oid: string;
  type: 'blob' | 'tree' | 'commit' | 'tag';
  data: Buffer;
}

interface Pending {
  oid: string;
  resolve(object: GitObject): void;
  reject(error: Error): void;
}

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * One long-lived `git cat-file --batch` per repository, reused across reads. Requests are answered in order;
 * only object ids are accepted (never `rev:path` expressions), so reads never touch a work tree or follow a
 * symlink. If git dies, pending reads fail and the next read starts a new process.
 */
export class CatFileBatch {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly queue: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private header: { oid: string; type: GitObject['type']; size: number } | null = null;

  constructor(private readonly gitDir: string) {}

  /** Read one object by id; NotFoundError when it does not exist. */
  read(oid: string): Promise<GitObject> {
    if (!OID.test(oid)) return Promise.reject(new NotFoundError(`not an object id: ${JSON.stringify(oid)}`));
    return new Promise((resolve, reject) => {
      const child = this.ensureStarted();
      this.queue.push({ oid, resolve, reject });
      child.stdin.write(`${oid}\n`);
    });
  }

  /** Stop the git process. */
  close(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('close', () => resolve());
      child.stdin.end();
      setTimeout(() => killGit(child), 2000).unref();
    });
  }

  private ensureStarted(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawnGit({ gitDir: this.gitDir, args: ['cat-file', '--batch'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4096)));
    child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stdin.on('error', () => {});
    const onGone = () => {
      if (this.child === child) this.child = null;
      this.buffer = Buffer.alloc(0);
      this.header = null;
      const failed = this.queue.splice(0);
      for (const p of failed) p.reject(new GitError('git cat-file stopped unexpectedly', ['cat-file', '--batch'], null, stderr));
    };
    child.on('close', onGone);
    child.on('error', onGone);
    this.child = child;
    return child;
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (!this.header) {
        const newline = this.buffer.indexOf(10);
        if (newline < 0) return;
        const line = this.buffer.subarray(0, newline).toString('utf8');
        this.buffer = this.buffer.subarray(newline + 1);
        const [oid, type, size] = line.split(' ');
        if (type === 'missing' || type === 'ambiguous' || size === undefined) {
          this.queue.shift()?.reject(new NotFoundError(`git object ${oid} not found`));
          continue;
        }
        this.header = { oid: oid!, type: type as GitObject['type'], size: Number(size) };
      }
      const { oid, type, size } = this.header;
      if (this.buffer.length < size + 1) return;
      const data = Buffer.from(this.buffer.subarray(0, size));
      this.buffer = this.buffer.subarray(size + 1);
      this.header = null;
      this.queue.shift()?.resolve({ oid, type, data });
    }
  }
}
