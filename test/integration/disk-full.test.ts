// A full (or read-only) file system under the lock directory, TMPDIR or the jobs directory:
// a typed error that names the directory and its setting, the same on every protocol, and a
// status message that stays the request's own. The file systems are small tmpfs mounts
// filled to the last byte and inode (test/helpers/full-filesystem.ts). The hypervisor is
// libvirt's test driver (test:///default, private to each virsh process): the requests get
// as far as their first write of a lock or a temporary file, and nothing outlives them.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { AGENT, mcollectiveCall, REPO, stdioRpc } from '../helpers/agent.js';
import { CAN_MOUNT, CANNOT_MOUNT_WHY, fullFilesystem, type FullFilesystem } from '../helpers/full-filesystem.js';
import { testWhen } from '../helpers/runs-here.js';

const itMounts = testWhen(CAN_MOUNT, CANNOT_MOUNT_WHY);
const work = mkdtempSync(join(tmpdir(), 'limits-disk-'));
const attach = { agent: 'network', action: 'nic_attach', data: { name: 'test', network: 'default' } };
let full: FullFilesystem | undefined;
let readOnly: FullFilesystem | undefined;

beforeAll(async () => {
  if (!CAN_MOUNT) return;
  full = await fullFilesystem('limits-full-', ['lock', 'tmp', 'jobs']);
  readOnly = await fullFilesystem('limits-ro-', ['lock'], true);
});

afterAll(async () => {
  await full?.unmount();
  await readOnly?.unmount();
  rmSync(work, { recursive: true, force: true });
});

/** An hvagent.yaml with these paths (the others in a fresh writable directory); the environment that uses it. */
function configured(paths: { lock_dir?: string; jobs_dir?: string }, templates: Record<string, unknown> = {}): Record<string, string> {
  const own = mkdtempSync(join(work, 'host-'));
  const file = join(own, 'hvagent.yaml');
  const settings = {
    paths: { lock_dir: join(own, 'locks'), jobs_dir: join(own, 'jobs'), ...paths },
    ...(Object.keys(templates).length > 0 && { templates }),
  };
  writeFileSync(file, JSON.stringify(settings));
  return { HVAGENT_CONFIG: file, HVAGENT_URI: 'test:///default' };
}

function expectNamed(data: Record<string, unknown>, code: string, path: string, setting: string): void {
  expect(data).toMatchObject({ error_code: code, error_details: { path, setting } });
}

describe('the lock directory', () => {
  itMounts('full: DISK_FULL naming it and paths.lock_dir, on stdio and as MCollective\'s one status line', async () => {
    const lockDir = full!.directories.lock!;
    const env = configured({ lock_dir: lockDir });
    const reply = await stdioRpc(attach, env);
    expect(reply.statuscode).toBe(1);
    expectNamed(reply.data, 'DISK_FULL', lockDir, 'paths.lock_dir');
    expect(reply.statusmsg).toContain(`the lock directory ${lockDir} (paths.lock_dir): no space left`);

    const ran = await mcollectiveCall(attach, env);
    rmSync(ran.cwd, { recursive: true, force: true });
    expect(ran.exitCode).toBe(1);
    expect(ran.stderr.trimEnd().split('\n')).toEqual([reply.statusmsg]);
    expectNamed(ran.reply!, 'DISK_FULL', lockDir, 'paths.lock_dir');
  });

  itMounts('read-only: DISK_READ_ONLY naming it', async () => {
    const lockDir = readOnly!.directories.lock!;
    const reply = await stdioRpc(attach, configured({ lock_dir: lockDir }));
    expectNamed(reply.data, 'DISK_READ_ONLY', lockDir, 'paths.lock_dir');
    expect(reply.statusmsg).toContain('read-only');
  });
});

itMounts('TMPDIR full: DISK_FULL naming it, where the same request with room goes on to libvirt', async () => {
  // network create writes the network's XML to a temporary file for virsh.
  const create = { agent: 'network', action: 'create', data: { name: 'limits-tmpdir', mode: 'isolated', subnet: '10.250.1.1/24' } };
  const temp = full!.directories.tmp!;
  const env = configured({});
  const reply = await stdioRpc(create, { ...env, TMPDIR: temp });
  expect(reply.statuscode).toBe(1);
  expectNamed(reply.data, 'DISK_FULL', temp, 'TMPDIR');
  expect(reply.statusmsg).toContain(`the temporary directory ${temp} (TMPDIR)`);

  const ran = await mcollectiveCall(create, { ...env, TMPDIR: temp });
  rmSync(ran.cwd, { recursive: true, force: true });
  expect(ran.stderr.trimEnd().split('\n')).toEqual([reply.statusmsg]);

  // With room in TMPDIR the network is defined; the test driver forgets it with its virsh
  // process, so the next read does not find it.
  const roomy = await stdioRpc(create, env);
  expect(roomy.data.error_code).toBe('NOT_FOUND');
});

describe('the jobs directory full', () => {
  // A template import reports progress (so it writes a job record) and then fails on its own
  // account: a SHA-256 that does not match. That failure must stay the status message.
  const wrongSum = '0'.repeat(64);
  let env: Record<string, string>;
  let importDir: string;
  let catalogue: string;
  let request: { agent: string; action: string; data: Record<string, unknown> };

  beforeAll(async () => {
    if (!CAN_MOUNT) return;
    importDir = join(work, 'import');
    catalogue = join(work, 'catalogue');
    mkdirSync(importDir);
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', join(importDir, 'disk.qcow2'), '1M']);
    env = configured({ jobs_dir: full!.directories.jobs! }, { catalogue, import_dirs: [importDir] });
    request = { agent: 'template', action: 'import', data: { ref: 'image:limits-disk', source: join(importDir, 'disk.qcow2'), sha256: wrongSum } };
  });

  const checksumMessage = /^Input 'sha256': .*disk\.qcow2 has SHA-256 [0-9a-f]{64}, not 0{64}; nothing was kept$/;

  itMounts('MCollective: the import\'s own error is the first stderr line; the warning naming the jobs directory follows', async () => {
    const ran = await mcollectiveCall(request, env);
    rmSync(ran.cwd, { recursive: true, force: true });
    expect(ran.exitCode).toBe(4);
    expect(ran.reply).toMatchObject({ error_code: 'CHECKSUM_MISMATCH' });
    const [status, ...rest] = ran.stderr.trimEnd().split('\n');
    expect(status).toMatch(checksumMessage);
    expect(rest).toEqual([expect.stringMatching(new RegExp(`^hvagent: warning \\[DISK_FULL\\]: The progress of this request is not recorded: .*the jobs directory ${full!.directories.jobs} \\(paths\\.jobs_dir\\)`))]);
    expect(existsSync(join(catalogue, 'catalogue.yaml'))).toBe(false);
  });

  itMounts('the MCollective runner (mcollective/util/hvagent_runner.rb) shows the import\'s error as statusmsg', async () => {
    const ran = await runnerCall('template', 'import', request.data, env);
    expect(ran.reply.statuscode).toBe(4);
    expect(ran.reply.statusmsg).toMatch(checksumMessage);
    expect(ran.reply.data.error_code).toBe('CHECKSUM_MISMATCH');
    // The runner logs the warning (MCollective's log), where an operator finds it.
    expect(ran.log).toContain('warning [DISK_FULL]');
  });

  itMounts('stdio: the reply is the import\'s; the warning goes to stderr only', async () => {
    const ran = await execa(AGENT, ['rpc'], { input: JSON.stringify(request), env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, extendEnv: false, reject: false });
    expect(ran.exitCode).toBe(0);
    const reply = JSON.parse(String(ran.stdout)) as { statusmsg: string; data: Record<string, unknown> };
    expect(reply.statusmsg).toMatch(checksumMessage);
    expect(String(ran.stderr)).toMatch(/^hvagent: warning \[DISK_FULL\]: .*paths\.jobs_dir/);
  });
});

itMounts('the MCollective runner with its TMPDIR full says so, naming it, instead of an exception', async () => {
  const temp = full!.directories.tmp!;
  const ran = await runnerCall('host', 'info', {}, { ...configured({}), TMPDIR: temp });
  expect(ran.reply.statuscode).toBe(1);
  expect(ran.reply.statusmsg).toMatch(new RegExp(`cannot be written in the temporary directory ${temp} \\(TMPDIR\\): No space left on device`));
});

/**
 * MCollective::Util::HvagentRunner.call, the runner's own entry point (the data plugin's), in a
 * Ruby process with `env`: its reply, and what it logged (MCollective's Log, here stderr).
 */
async function runnerCall(agent: string, action: string, data: Record<string, unknown>, env: Record<string, string>) {
  const harness = [
    'require "json"',
    'module MCollective; module Log; def self.error(m) $stderr.puts(m) end; def self.info(m) end; end; end',
    'require ARGV[0]',
    'reply = MCollective::Util::HvagentRunner.call(ARGV[1], ARGV[2], ARGV[3], JSON.parse(ARGV[4]), 60)',
    'puts JSON.generate(statuscode: reply.statuscode, statusmsg: reply.statusmsg, data: reply.data)',
  ].join('\n');
  const runner = join(REPO, 'mcollective', 'util', 'hvagent_runner.rb');
  const ran = await execa('ruby', ['-e', harness, runner, AGENT, agent, action, JSON.stringify(data)], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    extendEnv: false,
  });
  return { reply: JSON.parse(String(ran.stdout)) as { statuscode: number; statusmsg: string; data: Record<string, unknown> }, log: String(ran.stderr) };
}
