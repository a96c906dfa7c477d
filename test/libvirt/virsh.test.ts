// The virsh runner against the real virsh binary and the daemon-less test driver.
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runVirsh, runVirshBatch, stdoutOrThrow } from '../../src/libvirt/virsh.js';
import { VirshError } from '../../src/libvirt/virsh-error.js';

const uri = 'test:///default';
// A socket that cannot exist: the connection fails locally, nothing leaves the machine.
const unreachable = 'qemu+unix:///system?socket=/nonexistent/hvagent-test.sock';

async function failure(promise: Promise<unknown>): Promise<VirshError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VirshError);
  return error as VirshError;
}

const savedEnv = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

describe('runVirsh', () => {
  it('returns stdout of one command', async () => {
    expect((await runVirsh(['uri'], { uri })).trim()).toBe('test:///default');
  });

  it('passes multi-argument commands as argv, untouched by any parser', async () => {
    const arg = "a'b \"c\" ; $(d) \\ e\nf";
    expect(await runVirsh(['echo', '--', arg], { uri })).toBe(`${arg}\n`);
  });

  it('reports a failed command with argv, exit code, stderr and libvirt reason', async () => {
    const error = await failure(runVirsh(['dominfo', '--', 'no-such-domain'], { uri }));
    expect(error.code).toBe('HYPERVISOR_ERROR');
    expect(error.argv).toEqual(['virsh', '-c', uri, 'dominfo', '--', 'no-such-domain']);
    expect(error.exitCode).toBe(1);
    expect(error.stderr).toMatch(/^error: failed to get domain 'no-such-domain'/);
    expect(error.reason).toBe("failed to get domain 'no-such-domain'");
    expect(error.message).toBe(`virsh -c ${uri} dominfo -- no-such-domain: ${error.reason}`);
    expect(error.timedOut).toBe(false);
    expect(error.cancelled).toBe(false);
  });

  it('says HYPERVISOR_UNREACHABLE, with the cause, when the connection fails', async () => {
    const error = await failure(runVirsh(['uri'], { uri: unreachable }));
    expect(error.code).toBe('HYPERVISOR_UNREACHABLE');
    expect(error.reason).toMatch(/failed to connect to the hypervisor: .*\/nonexistent\/hvagent-test.sock/);
  });

  it('does not depend on the caller environment (locale, HOME, default URI)', async () => {
    for (const key of Object.keys(process.env)) if (key !== 'PATH') delete process.env[key];
    process.env.LANG = 'de_DE.UTF-8';
    process.env.LC_ALL = 'de_DE.UTF-8';
    process.env.LIBVIRT_DEFAULT_URI = unreachable;
    process.env.VIRSH_DEFAULT_CONNECT_URI = unreachable;
    expect(await runVirsh(['nodeinfo'], { uri })).toMatch(/^CPU model: +\S+/);
  });

  it('says VIRSH_MISSING when virsh is not on PATH', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'hvagent-nopath-'));
    try {
      process.env.PATH = empty;
      const error = await failure(runVirsh(['uri'], { uri }));
      expect(error.code).toBe('VIRSH_MISSING');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('kills virsh on timeout and says HYPERVISOR_TIMEOUT', async () => {
    const started = Date.now();
    // `event --timeout 60` blocks for 60 s waiting for domain events.
    const error = await failure(runVirsh(['event', '--all', '--timeout', '60'], { uri, timeoutMs: 300 }));
    expect(error.code).toBe('HYPERVISOR_TIMEOUT');
    expect(error.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('kills virsh when the AbortSignal fires and says CANCELLED', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = runVirsh(['event', '--all', '--timeout', '60'], { uri, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const error = await failure(pending);
    expect(error.code).toBe('CANCELLED');
    expect(error.cancelled).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('runVirshBatch', () => {
  it('runs all commands on one connection: state from one is seen by the next', async () => {
    // The test driver forgets everything between virsh processes, so this only passes if
    // all commands share one process.
    const xml = "<domain type='test'><name>batch-vm</name><memory>65536</memory><os><type>hvm</type></os></domain>";
    const dir = mkdtempSync(join(tmpdir(), 'hvagent-batch-'));
    try {
      const file = join(dir, 'dom.xml');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, xml);
      const results = await runVirshBatch(
        [['define', '--', file], ['start', '--', 'batch-vm'], ['domstate', '--', 'batch-vm'], ['list', '--all', '--name']],
        { uri },
      );
      expect(results.map((r) => r.error)).toEqual([undefined, undefined, undefined, undefined]);
      expect(results[2]!.stdout.trim()).toBe('running');
      expect(results[3]!.stdout.split('\n').filter(Boolean).sort()).toEqual(['batch-vm', 'test']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a batch longer than one argument may be (a thousand domains) still runs, each command with its own output', async () => {
    // 3,000 commands make a script of about 350 KB; Linux takes 128 KiB in one argument.
    const commands = Array.from({ length: 3000 }, (_, i) => ['echo', '--', `command-${i}-${'x'.repeat(20)}`]);
    const results = await runVirshBatch(commands, { uri });
    expect(results).toHaveLength(3000);
    results.forEach((result, i) => {
      expect(result.error).toBeUndefined();
      expect(result.stdout.trim()).toBe(`command-${i}-${'x'.repeat(20)}`);
    });
  });

  it('gives each command exactly its own stdout and stderr', async () => {
    const results = await runVirshBatch([['hostname'], ['echo', 'first'], ['echo', '--err', 'oops'], ['echo', 'last']], {
      uri,
    });
    expect(results.map((r) => r.command)).toEqual([['hostname'], ['echo', 'first'], ['echo', '--err', 'oops'], ['echo', 'last']]);
    expect(results[1]!.stdout).toBe('first\n');
    expect(results[1]!.stderr).toBe('');
    expect(results[2]!.stderr).toBe('error: oops\n');
    expect(results[3]!.stdout).toBe('last\n');
  });

  it('a batch longer than one argument may be (128 KiB) runs as several processes, each command with its own output, in order', async () => {
    // 2000 echoes of a 100-character word: about 350 KiB of script, which one spawn refuses (E2BIG).
    const commands = Array.from({ length: 2000 }, (_, index) => ['echo', '--', `${String(index).padStart(4, '0')}-${'x'.repeat(95)}`]);
    const results = await runVirshBatch(commands, { uri });
    expect(results).toHaveLength(2000);
    expect(results.map((result) => result.stdout.slice(0, 4))).toEqual(commands.map((command) => command[2]!.slice(0, 4)));
    expect(results.every((result, index) => result.stdout === `${commands[index]![2]}\n` && result.error === undefined)).toBe(true);
  });

  it('attributes a failure to its command and runs the rest', async () => {
    const [before, failed, after] = await runVirshBatch(
      [['uri'], ['dominfo', '--', 'no-such-domain'], ['domstate', '--', 'test']],
      { uri },
    );
    expect(before!.error).toBeUndefined();
    expect(failed!.error).toBeInstanceOf(VirshError);
    expect(failed!.error!.code).toBe('HYPERVISOR_ERROR');
    expect(failed!.error!.command).toEqual(['dominfo', '--', 'no-such-domain']);
    expect(failed!.error!.message).toMatch(/^virsh -c test:\/\/\/default dominfo -- no-such-domain: failed to get domain/);
    expect(() => stdoutOrThrow(failed!)).toThrow(failed!.error!);
    expect(stdoutOrThrow(after!).trim()).toBe('running');
  });

  it('rejects the whole batch when the connection fails', async () => {
    const error = await failure(runVirshBatch([['uri'], ['hostname']], { uri: unreachable }));
    expect(error.code).toBe('HYPERVISOR_UNREACHABLE');
    expect(error.stderr).not.toMatch(/hvagent-section/);
  });

  it('rejects the whole batch, naming the problem, when virsh refuses its syntax', async () => {
    const error = await failure(runVirshBatch([['uri'], ['dominfo', '--no-such-option']], { uri }));
    expect(error.code).toBe('HYPERVISOR_ERROR');
    expect(error.reason).toMatch(/doesn't support option --no-such-option/);
    expect(error.message).toMatch(/^virsh -c test:\/\/\/default batch \(uri; dominfo --no-such-option\): /);
  });

  it('returns [] for no commands without starting virsh', async () => {
    expect(await runVirshBatch([], { uri: unreachable })).toEqual([]);
  });
});
