/**
 * Git's smart HTTP protocol, served by running `git upload-pack` / `git receive-pack` in stateless-RPC mode
 * (what `git http-backend` does for these two services, and nothing else: no dumb HTTP, no file under the
 * repository is ever served). Protocol v2 for fetch is passed through with GIT_PROTOCOL.
 *
 * Pushes: receive-pack stores the pushed objects in a quarantine folder and runs our pre-receive hook
 * (hooks/pre-receive.pl, or pre-receive.mjs where there is no perl), which connects back to this process over a
 * Unix socket named after receive-pack's process id. The caller's `checkPush` decides, with the quarantined objects readable, before any ref moves.
 */
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InvalidInputError } from '../errors.ts';
import { maintainRepository } from './maintenance.ts';
import { installHooks, MAX_PUSH_BYTES } from './repository-setup.ts';
import { runGit, spawnGit, type GitEnvKey, type GitProcess } from './run.ts';
import { acquireWriteLock } from './write-lock.ts';

export type GitService = 'git-upload-pack' | 'git-receive-pack';

/** Largest pack a push may send (also git's receive.maxInputSize). */
export { MAX_PUSH_BYTES };
/** Largest fetch negotiation request (wants and haves), after decompression. */
export const MAX_FETCH_REQUEST_BYTES = 16 * 1024 * 1024;
/** A clone of a large repository can take a while; a stuck client cannot hold a process forever. */
const RPC_TIMEOUT_MS = 15 * 60 * 1000;

/** The environment a check runs git with to read the quarantined (not yet accepted) objects of a push. */
export type QuarantineEnv = Partial<Record<GitEnvKey, string>>;

/** What the pre-receive hook reports: receive-pack's update lines and where the new objects wait. */
export interface PushCheckRequest {
  /** Lines "<old> <new> <ref>", as git gives them to pre-receive. */
  updates: string;
  env: QuarantineEnv;
  /** Push options the pusher sent (`git push -o ...`): at most 20, each at most 200 characters. */
  options: string[];
}

/** The server's answer to the hook: `messages` are shown to the pusher as `remote:` lines. */
export interface PushVerdict {
  ok: boolean;
  messages: string[];
}

/** The content type of a service's responses. */
export const resultContentType = (service: GitService): string => `application/x-${service}-result`;
export const advertisementContentType = (service: GitService): string => `application/x-${service}-advertisement`;
export const requestContentType = (service: GitService): string => `application/x-${service}-request`;

/** Accepts only the `Git-Protocol` header values git sends (`version=2`, `key=value:key=value`). */
export function gitProtocolFrom(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length > 200) return undefined;
  return /^[A-Za-z0-9._=-]+(?::[A-Za-z0-9._=-]+)*$/.test(header) ? header : undefined;
}

const isProtocolV2 = (gitProtocol: string | undefined): boolean => gitProtocol?.split(':').includes('version=2') ?? false;

function pktLine(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0'), 'ascii'), payload]);
}

const serviceCommand = (service: GitService): 'upload-pack' | 'receive-pack' =>
  service === 'git-upload-pack' ? 'upload-pack' : 'receive-pack';

/** A running service: stream `output` to the client; `done` settles when git has exited (rejects on failure). */
export interface RunningService {
  output: Readable;
  done: Promise<void>;
}

/** GET info/refs?service=…: the ref advertisement (or, with protocol v2, the capability list). */
export function advertiseRefs(options: { service: GitService; repoPath: string; gitProtocol?: string; signal?: AbortSignal }): RunningService {
  const output = new PassThrough();
  // protocol v2 starts with the capability advertisement itself; v0/v1 clients expect the "# service" banner
  if (!isProtocolV2(options.gitProtocol) || options.service === 'git-receive-pack') {
    output.write(pktLine(`# service=${options.service}\n`));
    output.write('0000');
  }
  // a short command with no input and a small answer: started through the spawner (run.ts), not forked from here
  const done = runGit({
    gitDir: options.repoPath,
    // push options (`git push -o change.open`) are offered to pushers; they reach the pre-receive check
    args: [...(options.service === 'git-receive-pack' ? ['-c', 'receive.advertisePushOptions=true'] : []), serviceCommand(options.service), '--stateless-rpc', '--advertise-refs', '.'],
    env: { GIT_PROTOCOL: options.gitProtocol },
    timeoutMs: 60_000,
    signal: options.signal,
  }).then(
    ({ stdout }) => {
      output.end(stdout);
    },
    (error: unknown) => {
      output.end();
      throw error;
    },
  );
  done.catch(() => {}); // the caller awaits `done`; an unawaited failure must not be unhandled
  return { output, done };
}

/** Counts bytes through; fails the stream past `limit` (a body cap that also holds after decompression). */
class ByteLimit extends Transform {
  #seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.limit) callback(new RequestTooLargeError(this.limit));
    else callback(null, chunk);
  }
}

/**
 * Reads the object count in the header of a push's pack ("PACK", version, count), after the command pkt-lines
 * (and the push options, when the client announced them), and fails the stream when it is over `limit`, so git
 * never starts indexing (inflating, hashing) a pack of millions of objects. Bytes pass through unchanged; a
 * body that does not look like a push is left to git.
 */
export class PackObjectLimit extends Transform {
  #head = Buffer.alloc(0);
  #done = false;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.#done) {
      this.#head = Buffer.concat([this.#head, chunk]);
      const verdict = packObjectCount(this.#head);
      if (verdict !== undefined || this.#head.length > 1024 * 1024) {
        this.#done = true;
        this.#head = Buffer.alloc(0);
        if (verdict !== undefined && verdict !== null && verdict > this.limit) {
          callback(new PushTooLargeError(`the pack has ${verdict} objects, over the limit of ${this.limit}`));
          return;
        }
      }
    }
    callback(null, chunk);
  }
}

/** `body` through a PackObjectLimit, failing and closing together (closing the body closes the request). */
function limitPackObjects(body: Readable, limit: number): Readable {
  const limited = new PackObjectLimit(limit);
  body.on('error', (error: Error) => limited.destroy(error));
  limited.on('close', () => {
    if (!body.destroyed) body.destroy();
  });
  return body.pipe(limited);
}

/** The object count of the pack after the pkt-lines; undefined: not read far enough yet; null: no pack header. */
export function packObjectCount(head: Buffer): number | null | undefined {
  let at = 0;
  let flushes = 0;
  let sections = 1;
  while (flushes < sections) {
    if (head.length < at + 4) return undefined;
    const length = Number.parseInt(head.toString('latin1', at, at + 4), 16);
    if (!Number.isInteger(length) || (length !== 0 && length < 4)) return null;
    if (length === 0) {
      flushes++;
      at += 4;
      continue;
    }
    if (head.length < at + length) return undefined;
    // the first command carries the capabilities after a NUL; with push-options a second section follows
    if (at === 0 && /\0.*\bpush-options\b/s.test(head.toString('latin1', at + 4, at + length))) sections = 2;
    at += length;
  }
  if (head.length < at + 12) return undefined;
  if (head.toString('latin1', at, at + 4) !== 'PACK') return null;
  return head.readUInt32BE(at + 8);
}

/** A push over a limit that is checked while its pack streams in. */
export class PushTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PushTooLargeError';
  }
}

/** The request body was larger than its cap. */
export class RequestTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The request is larger than ${Math.round(limit / (1024 * 1024))} MB.`);
    this.name = 'RequestTooLargeError';
  }
}

/**
 * The request body as git should read it: gunzipped when the client compressed it (git does for large fetch
 * negotiations), and capped in bytes after decompression so a gzip bomb cannot grow past `limit`.
 */
export function requestBody(raw: Readable, contentEncoding: unknown, limit: number): Readable {
  const encoding = typeof contentEncoding === 'string' ? contentEncoding.trim().toLowerCase() : '';
  if (encoding !== '' && encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new InvalidInputError('Unsupported Content-Encoding.');
  }
  const capped = new ByteLimit(limit);
  // a refused body (over the cap, corrupt gzip) is not read to its end: close the request (and its connection),
  // or the unread rest would keep the request open forever and the server could not shut down
  capped.on('close', () => {
    if (!raw.readableEnded && !raw.destroyed) raw.destroy();
  });
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    const gunzip = createGunzip();
    raw.on('error', (error) => gunzip.destroy(error));
    gunzip.on('error', (error) => capped.destroy(error));
    raw.pipe(gunzip).pipe(capped);
  } else {
    raw.on('error', (error) => capped.destroy(error));
    raw.pipe(capped);
  }
  return capped;
}

/** POST git-upload-pack: one round of fetch negotiation or the pack itself. */
export function uploadPack(options: { repoPath: string; body: Readable; gitProtocol?: string; signal?: AbortSignal }): RunningService {
  const proc = spawnGit({
    gitDir: options.repoPath,
    args: ['upload-pack', '--stateless-rpc', '.'],
    env: { GIT_PROTOCOL: options.gitProtocol },
    timeoutMs: RPC_TIMEOUT_MS,
    signal: options.signal,
  });
  feed(proc, options.body);
  return { output: proc.stdout, done: proc.wait().then(() => undefined) };
}

/**
 * POST git-receive-pack: receive a push. Before any ref moves, receive-pack's pre-receive hook calls
 * `checkPush` (in this process) with the quarantined objects; its verdict accepts or refuses the whole push.
 * `identity` names the pusher in the reflog.
 *
 * The repository's write lock is taken when the check starts and held until receive-pack has exited and
 * `afterPush` (recording and publishing the push) has finished, so an editor save never interleaves with a
 * push of this process. `afterPush` runs whenever the check was reached, even if receive-pack then failed: it
 * must find out itself which updates were applied. Afterwards `git gc --auto` runs (in the background, under
 * the lock).
 */
export async function receivePack(options: {
  repoPath: string;
  body: Readable;
  gitProtocol?: string;
  identity: { name: string; email: string };
  /** Let `checkPush` decide about ref deletions (receive.denyDeletes stays on for every other receive-pack). */
  allowDeletes?: boolean;
  /** A pack announcing more objects than this is cut off before git indexes any of them. */
  maxObjects?: number;
  checkPush: (request: PushCheckRequest) => Promise<PushVerdict>;
  /** Runs after receive-pack exited, still under the write lock, when the check was reached. */
  afterPush?: () => Promise<void>;
  /** Told when a check failed unexpectedly (the push is then refused). */
  onCheckError?: (error: unknown) => void;
  signal?: AbortSignal;
}): Promise<RunningService> {
  const repoPath = resolve(options.repoPath);
  await installHooks(repoPath);
  const runDir = await hookRunDir();
  const proc = spawnGit({
    gitDir: repoPath,
    args: [
      '-c',
      `receive.maxInputSize=${MAX_PUSH_BYTES}`,
      '-c',
      'receive.autogc=false',
      '-c',
      'receive.advertisePushOptions=true',
      ...(options.allowDeletes ? ['-c', 'receive.denyDeletes=false'] : []),
      'receive-pack',
      '--stateless-rpc',
      '.',
    ],
    env: {
      GIT_PROTOCOL: options.gitProtocol,
      GIT_COMMITTER_NAME: options.identity.name,
      GIT_COMMITTER_EMAIL: options.identity.email,
    },
    timeoutMs: RPC_TIMEOUT_MS,
    signal: options.signal,
  });
  let release: (() => void) | null = null;
  let exited = false;
  const lockedCheck = async (request: PushCheckRequest): Promise<PushVerdict> => {
    const unlock = await acquireWriteLock(repoPath);
    if (exited) {
      unlock();
      throw new Error('receive-pack ended before its push was checked');
    }
    release = unlock;
    return options.checkPush(request);
  };
  let hookServer: Server | null = null;
  const socketPath = hookSocketPath(runDir, proc.pid);
  try {
    // receive-pack runs the hook only after it has read the whole pack from stdin, which we have not fed yet,
    // so the socket is listening before the hook can look for it
    hookServer = await listenForHook(socketPath, repoPath, lockedCheck, options.onCheckError);
  } catch (error) {
    proc.kill('the push check channel could not be opened');
    throw error;
  }
  feed(proc, options.maxObjects === undefined ? options.body : limitPackObjects(options.body, options.maxObjects));
  const finish = async (): Promise<void> => {
    exited = true;
    const unlock = release;
    if (!unlock) return;
    release = null;
    try {
      await options.afterPush?.();
    } finally {
      unlock();
      void maintainRepository(repoPath).catch(() => {});
    }
  };
  const done = proc.wait().then(
    () => finish(),
    async (error: unknown) => {
      await finish();
      throw error;
    },
  );
  const cleanup = (): void => {
    hookServer?.close();
    void rm(socketPath, { force: true });
  };
  void done.then(cleanup, cleanup);
  return { output: proc.stdout, done };
}

function feed(proc: GitProcess, body: Readable): void {
  body.on('error', (error: Error) => proc.kill(`request body failed: ${error.message}`));
  body.pipe(proc.stdin);
  // git stopped reading (it exited, e.g. on a malformed request): the rest of the body is not wanted
  proc.child.once('close', () => {
    if (!body.readableEnded && !body.destroyed) body.destroy();
  });
}

/** Where the hook of the receive-pack with process id `pid` finds this server (hooks/pre-receive.mjs computes the same). */
export function hookSocketPath(runDir: string, pid: number | undefined): string {
  if (pid === undefined) throw new Error('git receive-pack did not start');
  return join(runDir, `${pid}.sock`);
}

let runDirPromise: Promise<string> | undefined;

/** A folder only this user can enter, for the hook sockets (a Unix socket path must stay short: tmpdir). */
export function hookRunDir(): Promise<string> {
  runDirPromise ??= (async () => {
    const uid = process.getuid?.() ?? 0;
    const dir = join(tmpdir(), `docucommit-hooks-${uid}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const stat = await lstat(dir);
    // someone else's folder (or a symlink) planted at this name would let them answer for our checks
    if (!stat.isDirectory() || stat.uid !== uid) throw new Error(`${dir} is not a private folder of this user`);
    await chmod(dir, 0o700);
    return dir;
  })();
  runDirPromise.catch(() => {
    runDirPromise = undefined;
  });
  return runDirPromise;
}

const MAX_HOOK_REQUEST_BYTES = 32 * 1024 * 1024;

export async function listenForHook(
  socketPath: string,
  repoPath: string,
  checkPush: (request: PushCheckRequest) => Promise<PushVerdict>,
  onCheckError?: (error: unknown) => void,
): Promise<Server> {
  await rm(socketPath, { force: true }); // left by a process that had this id before
  let answered = false;
  // half-open: the hook ends its side after the request and still reads the verdict
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    let size = 0;
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_HOOK_REQUEST_BYTES) socket.destroy();
      else chunks.push(chunk);
    });
    socket.on('end', () => {
      // one push, one check: a second connection is not receive-pack's hook
      const verdict: Promise<PushVerdict> = answered
        ? Promise.resolve({ ok: false, messages: ['DocuCommit: unexpected second check of one push.'] })
        : Promise.resolve()
            .then(() => parseHookRequest(Buffer.concat(chunks).toString('utf8'), repoPath))
            .then(checkPush);
      answered = true;
      const inLines = answersInLines(chunks);
      void verdict
        .catch((error: unknown): PushVerdict => {
          onCheckError?.(error);
          return { ok: false, messages: ['DocuCommit: this push could not be checked, so it was refused.'] };
        })
        .then((result) => socket.end(inLines ? verdictLines(result) : `${JSON.stringify(result)}\n`));
    });
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  return server;
}

/** Whether the hook asked for its verdict in lines (hooks/pre-receive.pl) rather than as JSON (pre-receive.mjs). */
function answersInLines(chunks: Buffer[]): boolean {
  try {
    return (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { answer?: unknown }).answer === 'lines';
  } catch {
    return false; // a request that is not JSON is refused, in the form the other hook reads
  }
}

/** "ok" or "refused", then each message on its own line (git shows each as a `remote:` line). */
function verdictLines(verdict: PushVerdict): string {
  return `${verdict.ok ? 'ok' : 'refused'}\n${verdict.messages.map((line) => `${line}\n`).join('')}`;
}

/** The hook's report, with the quarantine folder checked to lie inside this repository's object store. */
function parseHookRequest(text: string, repoPath: string): PushCheckRequest {
  const parsed = JSON.parse(text) as { updates?: unknown; quarantine?: unknown; objectDirectory?: unknown; options?: unknown };
  const options = Array.isArray(parsed.options) ? parsed.options.filter((o): o is string => typeof o === 'string' && o.length <= 200).slice(0, 20) : [];
  const objects = join(repoPath, 'objects');
  const inside = (value: unknown): string => {
    if (typeof value !== 'string' || value === '') throw new Error('the hook did not report a quarantine folder');
    const full = isAbsolute(value) ? resolve(value) : resolve(repoPath, value);
    if (!full.startsWith(objects + sep)) throw new Error('the quarantine folder is outside the repository');
    return full;
  };
  if (typeof parsed.updates !== 'string') throw new Error('the hook did not report ref updates');
  // a push that only deletes refs brings no objects, and receive-pack makes no quarantine for it
  if (parsed.quarantine === '' && parsed.objectDirectory === '') return { updates: parsed.updates, env: {}, options };
  const quarantine = inside(parsed.quarantine);
  const objectDirectory = inside(parsed.objectDirectory);
  return {
    updates: parsed.updates,
    env: { GIT_QUARANTINE_PATH: quarantine, GIT_OBJECT_DIRECTORY: objectDirectory, GIT_ALTERNATE_OBJECT_DIRECTORIES: objects },
    options,
  };
}
