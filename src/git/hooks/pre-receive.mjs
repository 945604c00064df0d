// DocuCommit's pre-receive hook (plain JavaScript: it starts on every push, so it must start fast).
//
// `git receive-pack` runs it after the pushed objects are stored in quarantine and before any ref moves. It hands
// the ref updates and the quarantine location to the DocuCommit server that started this receive-pack (over a
// Unix socket named after receive-pack's process id, see smart-http.ts `hookSocketPath`), prints the server's
// messages (git shows them as `remote:` lines) and exits with its verdict. When no server answers (a push that
// did not come through DocuCommit, or a server that died), the push is refused: fail closed.
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TIMEOUT_MS = 5 * 60 * 1000;

// keep in step with hookSocketPath() in smart-http.ts
const socketPath = join(tmpdir(), `docucommit-hooks-${process.getuid?.() ?? 0}`, `${process.ppid}.sock`);

function refuse(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
// push options (`git push -o change.open`), which receive-pack hands to hooks as GIT_PUSH_OPTION_<n>
const optionCount = Math.min(Number(process.env.GIT_PUSH_OPTION_COUNT ?? 0) || 0, 20);
const options = Array.from({ length: optionCount }, (_, i) => process.env[`GIT_PUSH_OPTION_${i}`] ?? '');
const request = JSON.stringify({
  updates: Buffer.concat(chunks).toString('utf8'),
  options,
  quarantine: process.env.GIT_QUARANTINE_PATH ?? '',
  objectDirectory: process.env.GIT_OBJECT_DIRECTORY ?? '',
});

const timer = setTimeout(() => refuse('DocuCommit: checking this push took too long, so it was refused.'), TIMEOUT_MS);
const socket = connect(socketPath);
let answer = '';
socket.setEncoding('utf8');
socket.on('connect', () => socket.end(`${request}\n`));
socket.on('data', (text) => {
  answer += text;
});
socket.on('error', () => refuse('DocuCommit: this push could not be checked, so it was refused.'));
socket.on('end', () => {
  clearTimeout(timer);
  let verdict;
  try {
    verdict = JSON.parse(answer);
  } catch {
    refuse('DocuCommit: this push could not be checked, so it was refused.');
    return;
  }
  for (const line of Array.isArray(verdict.messages) ? verdict.messages : []) process.stderr.write(`${String(line)}\n`);
  process.exit(verdict.ok === true ? 0 : 1);
});
