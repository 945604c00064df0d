/**
 * The git spawner: a small, long-lived node process (plain JavaScript, no tsx, ~40 MB) that starts short-lived git
 * commands for the server (src/git/spawner-client.ts). Starting a process costs time proportional to the RSS of
 * the process that starts it (libuv forks), so git is started from here rather than from the large server.
 *
 * It is not a security boundary and makes no decisions: the server builds the argument array (checked user
 * values, `--end-of-options`), the complete environment and the limits; this process only applies them:
 * - `spawn('git', args)` with no shell, the given environment only, its own process group;
 * - the deadline kills the whole process group; so does stdout growing beyond the cap, and a kill request;
 * - stderr is kept up to its cap and sent back with the exit code.
 *
 * Protocol (stdin: requests, stdout: responses), frames of
 *   u32 BE length of the rest | u32 BE length of the JSON header | JSON header | payload bytes
 * request  {t:'run', id, args, cwd, env, timeoutMs, maxStdout, maxStderr}, payload = git's stdin
 * request  {t:'kill', id}                         (abort: kill the group, answer with killed:'abort')
 * response {t:'ready'} once at start; then {id, code, signal, killed, error, pid, stdoutLength}, payload =
 *          stdout then stderr
 * When the server closes the channel or goes away (stdin ends), this process answers what runs, then exits.
 */
import { spawn } from 'node:child_process';

const GIT_BINARY = 'git';
const running = new Map();

function send(header, payload) {
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32BE(4 + head.length + payload.length, 0);
  prefix.writeUInt32BE(head.length, 4);
  process.stdout.write(Buffer.concat([prefix, head, payload]));
}

function killGroup(pid) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function run(request, input) {
  const { id, args, cwd, env, timeoutMs, maxStdout, maxStderr } = request;
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    send({ id, code: null, signal: null, killed: null, error: 'bad request', pid: null, stdoutLength: 0 }, Buffer.alloc(0));
    return;
  }
  let child;
  try {
    child = spawn(GIT_BINARY, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true, windowsHide: true });
  } catch (error) {
    send({ id, code: null, signal: null, killed: null, error: String(error?.message ?? error), pid: null, stdoutLength: 0 }, Buffer.alloc(0));
    return;
  }
  const state = { child, killed: null };
  running.set(id, state);
  const kill = (why) => {
    state.killed ??= why;
    killGroup(child.pid);
  };
  state.kill = kill;

  const out = [];
  let outBytes = 0;
  child.stdout.on('data', (chunk) => {
    if (state.killed) return;
    outBytes += chunk.length;
    if (outBytes > maxStdout) {
      kill('output');
      return;
    }
    out.push(chunk);
  });
  const err = [];
  let errBytes = 0;
  child.stderr.on('data', (chunk) => {
    if (errBytes >= maxStderr) return;
    const part = chunk.subarray(0, maxStderr - errBytes);
    err.push(part);
    errBytes += part.length;
  });
  child.stdin.on('error', () => {});
  child.stdin.end(input);

  const timer = timeoutMs > 0 ? setTimeout(() => kill('timeout'), timeoutMs) : undefined;
  let spawnError = null;
  child.on('error', (error) => {
    spawnError = String(error?.message ?? error);
  });
  child.on('close', (code, signal) => {
    if (timer) clearTimeout(timer);
    running.delete(id);
    const stdout = state.killed ? Buffer.alloc(0) : Buffer.concat(out);
    const stderr = Buffer.concat(err);
    send(
      { id, code, signal, killed: state.killed, error: spawnError, pid: child.pid ?? null, stdoutLength: stdout.length },
      Buffer.concat([stdout, stderr]),
    );
    if (ending && running.size === 0) process.stdout.write('', () => process.exit(0));
  });
}

// chunks are joined only once a whole frame has arrived (a large input comes in many 64 KB chunks)
let chunks = [];
let chunkBytes = 0;
process.stdin.on('data', (chunk) => {
  chunks.push(chunk);
  chunkBytes += chunk.length;
  for (;;) {
    if (chunkBytes < 8) return;
    if (chunks[0].length < 8) chunks = [Buffer.concat(chunks)];
    const length = chunks[0].readUInt32BE(0);
    if (chunkBytes < 4 + length) return;
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    const rest = all.subarray(4 + length);
    chunks = rest.length > 0 ? [Buffer.from(rest)] : [];
    chunkBytes = rest.length;
    const headLength = all.readUInt32BE(4);
    const header = JSON.parse(all.toString('utf8', 8, 8 + headLength));
    const payload = all.subarray(8 + headLength, 4 + length);
    if (header.t === 'run') run(header, payload);
    else if (header.t === 'kill') running.get(header.id)?.kill('abort');
  }
});
send({ t: 'ready' }, Buffer.alloc(0));
// the server closed the channel (shutdown) or is gone: finish what runs (each has its deadline), then exit
let ending = false;
process.stdin.on('end', () => {
  ending = true;
  if (running.size === 0) process.exit(0);
});
process.stdout.on('error', () => process.exit(0));
