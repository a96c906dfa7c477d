import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '../helpers/audit.js';
import { stdioRpc } from '../helpers/agent.js';

// audit.syslog: each audit line also goes to syslog through the real logger(1), at
// authpriv.info with the tag hvagent-audit, to the socket audit.syslog_socket names. The
// syslog daemon here is a datagram socket that perl (perl-base, on every Debian) reads,
// printing each message it receives on a line of its own.

const LISTENER = [
  '-MIO::Socket::UNIX',
  '-e',
  '$| = 1; my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM(), Local => $ARGV[0]) or die "bind: $!"; print "ready\\n"; while (defined($s->recv(my $m, 65536))) { $m =~ s/\\n/ /g; print "$m\\n" }',
];

let dir: string;
let listener: ChildProcessWithoutNullStreams;
let received = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'audit-syslog-'));
  const socket = join(dir, 'log.sock');
  listener = spawn('perl', [...LISTENER, socket]);
  listener.stdout.on('data', (chunk: Buffer) => (received += chunk.toString()));
  await until(() => received.startsWith('ready\n'), 'the syslog socket to be bound');
  writeFileSync(join(dir, 'hvagent.yaml'), [`paths: { jobs_dir: ${dir}/jobs, lock_dir: ${dir}/locks }`, `audit: { file: ${dir}/audit.log, syslog: true, syslog_socket: ${socket} }`, ''].join('\n'));
});

afterAll(() => {
  listener?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until(done: () => boolean, what: string): Promise<void> {
  const bound = Date.now() + 60_000;
  while (!done()) {
    if (Date.now() > bound) throw new Error(`gave up waiting for ${what}; received so far: ${JSON.stringify(received)}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const messages = () => received.split('\n').slice(1).filter(Boolean);

test('each audit line reaches syslog whole, at authpriv.info as hvagent-audit, secrets redacted', async () => {
  const env = { HVAGENT_CONFIG: join(dir, 'hvagent.yaml') };
  const ok = newId('syslog-ok');
  const refused = newId('syslog-refused');
  expect((await stdioRpc({ agent: 'host', action: 'agent_info', data: {}, requestid: ok }, env)).statuscode).toBe(0);
  // Refused by validation (no such template type), with a secret input and a line past logger's default 1 KiB.
  const reply = await stdioRpc({ agent: 'vm', action: 'create', data: { name: 'syslog-vm', template: 'nosuchtype:x', user_data: '#cloud-config\n# SECRET-3f9a\n', cmdline: `console=ttyS0 ${'x'.repeat(300)}`, kernel: `/srv/${'k'.repeat(300)}`, allow: `tcp:${'1'.repeat(300)}`, hostname: 'h'.repeat(60) }, requestid: refused }, env);
  expect(reply.statuscode).not.toBe(0);
  await until(() => messages().length >= 2, 'two syslog messages');
  const [first, second] = messages();
  // <86>: facility authpriv (10) * 8 + severity info (6).
  for (const message of [first!, second!]) expect(message).toMatch(/^<86>.*hvagent-audit(\[\d+\])?: \{/);
  const lineOf = (message: string) => JSON.parse(message.slice(message.indexOf('{'))) as Record<string, unknown>;
  expect(lineOf(first!)).toMatchObject({ request_id: ok, protocol: 'stdio', agent: 'host', action: 'agent_info', outcome: 'OK' });
  expect(lineOf(second!)).toMatchObject({ request_id: refused, agent: 'vm', action: 'create', inputs: { user_data: '[secret]', name: 'syslog-vm' } });
  expect(second).not.toContain('SECRET-3f9a');
  // Longer than logger's default message size (1 KiB), and whole: it parsed above.
  expect(second!.length).toBeGreaterThan(1100);
});
