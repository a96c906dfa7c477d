// The one process runner: every way a tool can end is one ToolError that says what ran, how
// it ended and the end of what it said; the caller's environment never leaks in.
import { describe, expect, test } from '@jest/globals';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolError } from '../../../src/process/failure.js';
import { runProcess } from '../../../src/process/run.js';

async function failure(promise: Promise<unknown>): Promise<ToolError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ToolError);
  return error as ToolError;
}

describe('runProcess', () => {
  test('returns what it printed, with an argument array taken literally', async () => {
    const argument = "a'b \"c\" ; $(touch /tmp/hv-never) | e\nf";
    const result = await runProcess('printf', ['%s', argument]);
    expect(result).toMatchObject({ exitCode: 0, stdout: argument, argv: ['printf', '%s', argument] });
  });

  test('a non-zero exit is COMMAND_FAILED naming the command, the status and the end of stderr', async () => {
    const error = await failure(runProcess('sh', ['-c', 'echo first >&2; echo second >&2; echo last >&2; exit 3']));
    expect(error.code).toBe('COMMAND_FAILED');
    expect(error.exitCode).toBe(3);
    expect(error.message).toBe('sh -c "echo first >&2; echo second >&2; echo last >&2; exit 3" failed: exit status 3: first | second | last');
    expect(error.details).toEqual({ command: 'sh', exit_code: 3 });
  });

  test('allowNonZeroExit hands the output back instead', async () => {
    const result = await runProcess('sh', ['-c', 'echo partial; exit 5'], { allowNonZeroExit: true });
    expect(result).toMatchObject({ exitCode: 5, stdout: 'partial\n' });
  });

  test('a program that is not installed says so', async () => {
    const error = await failure(runProcess('hvagent-no-such-tool', []));
    expect(error.notInstalled).toBe(true);
    expect(error.message).toContain('hvagent-no-such-tool is not installed (not found on PATH)');
  });

  test('a timeout kills it and says after how long', async () => {
    const error = await failure(runProcess('sleep', ['30'], { timeoutMs: 200 }));
    expect(error.timedOut).toBe(true);
    expect(error.message).toContain('timed out after 0.2 s; the process was killed');
  });

  test('a cancelled request kills it and reports CANCELLED', async () => {
    const controller = new AbortController();
    const pending = runProcess('sleep', ['30'], { signal: controller.signal });
    controller.abort();
    const error = await failure(pending);
    expect(error.code).toBe('CANCELLED');
    expect(error.cancelled).toBe(true);
  });

  test('output beyond the limit kills it', async () => {
    const error = await failure(runProcess('yes', [], { maxOutputBytes: 4096 }));
    expect(error.message).toContain('printed more output than allowed');
  });

  test('progress lines on stderr are left out of the message', async () => {
    const error = await failure(runProcess('sh', ['-c', 'echo "tick 1" >&2; echo real problem >&2; echo "tick 2" >&2; exit 1'], { stderrNoise: /^tick/ }));
    expect(error.message).toMatch(/: real problem$/);
  });

  test("the caller's environment never reaches the tool; only what is asked for is added", async () => {
    process.env.HVAGENT_LEAK_CHECK = 'leaked';
    try {
      const { stdout } = await runProcess('env', [], { environment: { ADDED: 'yes' } });
      expect(stdout).not.toContain('HVAGENT_LEAK_CHECK');
      expect(stdout).toContain('LC_ALL=C');
      expect(stdout).toContain('ADDED=yes');
    } finally {
      delete process.env.HVAGENT_LEAK_CHECK;
    }
  });

  test('a descriptor is handed down as fd 3', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'hv-fd-'));
    try {
      const descriptor = openSync(join(directory, 'out'), 'w');
      await runProcess('sh', ['-c', 'echo through-fd-3 >&3'], { descriptors: [descriptor] });
      closeSync(descriptor);
      expect(readFileSync(join(directory, 'out'), 'utf8')).toBe('through-fd-3\n');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
