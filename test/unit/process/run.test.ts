// The one process runner: every way a tool can end is one ToolError that says what ran, how
// it ended and the end of what it said; the caller's environment never leaks in.
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { RequestScope, runInScope } from '../../../src/core/scope.js';
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

/** Runs `work` as a request that has begun changing things: its children die with the agent. */
function changing<T>(work: () => Promise<T>): Promise<T> {
  const scope = new RequestScope();
  scope.markChanging();
  return runInScope(scope, work);
}

/** Whether a process is still there (a zombie is gone: it only waits to be reaped). */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, boundMs: number): Promise<void> {
  const bound = Date.now() + boundMs;
  while (!condition() && Date.now() < bound) await new Promise((poll) => setTimeout(poll, 20));
}

describe('runProcess in a request that changes things', () => {
  test('the program still gets its arguments literally, and its output and status come back', async () => {
    const argument = "a'b \"c\" ; $(touch /tmp/hv-never) | e\nf";
    const result = await changing(() => runProcess('printf', ['%s', argument]));
    expect(result).toMatchObject({ exitCode: 0, stdout: argument, argv: ['printf', '%s', argument] });
    const error = await failure(changing(() => runProcess('sh', ['-c', 'echo wrong >&2; exit 4'])));
    expect(error.message).toBe('sh -c "echo wrong >&2; exit 4" failed: exit status 4: wrong');
  });

  test('a program that is not installed says so', async () => {
    const error = await failure(changing(() => runProcess('hvagent-no-such-tool', ['x'])));
    expect(error.notInstalled).toBe(true);
    expect(error.stderr).toBe('');
  });

  test('a child whose agent was killed before setpriv could tie it to the agent does not go on', async () => {
    // setpriv ties a child to its parent only once it runs. Here it runs late on purpose: a
    // setpriv ahead of the real one on PATH waits until the agent is gone (the child handed
    // to its new parent) and only then runs the real one, as the kernel may schedule it
    // after a SIGKILL. The agent starts a child in a changing request and kills itself.
    const directory = mkdtempSync(join(tmpdir(), 'hv-orphan-'));
    const childPid = join(directory, 'child.pid');
    try {
      const realSetpriv = spawnSync('sh', ['-c', 'command -v setpriv']).stdout.toString().trim();
      mkdirSync(join(directory, 'bin'));
      writeFileSync(
        join(directory, 'bin', 'setpriv'),
        `#!/bin/sh\necho $$ > ${childPid}\nagent=$PPID\nwhile [ "$(cut -d' ' -f4 /proc/$$/stat)" = "$agent" ]; do :; done\nexec ${realSetpriv} "$@"\n`,
        { mode: 0o755 },
      );
      const script = join(directory, 'agent.mjs');
      await build({
        stdin: {
          contents: [
            "import { RequestScope, runInScope } from './src/core/scope.ts';",
            "import { runProcess } from './src/process/run.ts';",
            'const scope = new RequestScope();',
            'scope.markChanging();',
            'void runInScope(scope, async () => {',
            "  void runProcess('sleep', ['600']).catch(() => undefined);",
            "  process.kill(process.pid, 'SIGKILL');",
            '});',
          ].join('\n'),
          resolveDir: fileURLToPath(new URL('../../..', import.meta.url)),
          loader: 'ts',
        },
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: script,
        logLevel: 'silent',
      });
      const env = { ...process.env, PATH: `${join(directory, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}` };
      expect(spawnSync(process.execPath, [script], { env }).signal).toBe('SIGKILL');
      await waitFor(() => existsSync(childPid) && readFileSync(childPid, 'utf8').endsWith('\n'), 20_000);
      const pid = Number(readFileSync(childPid, 'utf8'));
      // The same process goes on as setpriv, then sh, then sleep: it must end once it finds the agent gone.
      await waitFor(() => !running(pid), 20_000);
      expect({ pid, running: running(pid) }).toEqual({ pid, running: false });
    } finally {
      if (existsSync(childPid)) {
        const pid = Number(readFileSync(childPid, 'utf8'));
        if (running(pid)) process.kill(pid, 'SIGKILL');
      }
      rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);
});
