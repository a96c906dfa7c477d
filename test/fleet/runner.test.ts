// MCollective::Util::HvagentRunner on a real fleet of stock mcollectived, through the echo
// fixture agent (fixtures/mcollective/agent/echo.{ddl,rb}, echo/hvagent).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { FIXTURES, REPO_ROOT, startFleet, type Fleet, type McoResult, type RpcReply } from './fleet.js';

/** What the echo fixture reports about how it was run (data.process). */
interface ProcessFacts {
  argv: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  pid: number;
  pgid: number;
  stdin: string;
  request_mode: string;
  request_ends_with_newline: boolean;
  reply_size_before: number;
}

let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet({ pluginSrc: [REPO_ROOT, FIXTURES] });
});

afterAll(async () => {
  await fleet?.stop();
});

function onlyReply(result: McoResult): RpcReply {
  expect(result.json).toHaveLength(1);
  return result.json![0]!;
}

const shoutOnHv1 = async (...inputs: string[]) =>
  onlyReply(await fleet.mco(['rpc', 'echo', 'shout', ...inputs, '-I', 'hv1', '--json']));

/** Gone, or a zombie nobody reaps (a container's pid 1 may not). */
async function processGone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

test('every identity answers, and the program is run exactly like implemented_by runs it', async () => {
  const result = await fleet.mco(['rpc', 'echo', 'shout', 'msg=hello', 'colour=blue', '--nodes', fleet.nodesFile, '--json']);
  expect(result.exitCode).toBe(0);
  expect(result.json!.map((r) => r.sender)).toEqual(fleet.nodes);

  for (const reply of result.json!) {
    expect(reply).toMatchObject({ statuscode: 0, statusmsg: 'OK' });
    expect(reply.data).toMatchObject({ identity: reply.sender, message: 'hello' });

    const request = reply.data.request as Record<string, unknown>;
    expect(Object.keys(request)).toEqual(['agent', 'action', 'data', 'sender', 'callerid', 'uniqid']);
    expect(request).toMatchObject({
      agent: 'echo',
      action: 'shout',
      // undeclared inputs and process_results reach the program as sent
      data: { msg: 'hello', colour: 'blue', process_results: true },
      sender: 'hvagent-fleet-client',
      // the real caller, where MCollective's own Request#to_json always sends null
      callerid: `uid=${process.getuid!()}`,
    });
    expect(request.uniqid).toMatch(/^[0-9a-f]{32}$/);

    const tmp = join(fleet.dir, reply.sender, 'tmp'); // the daemon's TMPDIR = Dir.tmpdir
    const proc = reply.data.process as ProcessFacts;
    expect(proc.argv).toEqual([proc.env.MCOLLECTIVE_REQUEST_FILE, proc.env.MCOLLECTIVE_REPLY_FILE]);
    expect(proc.argv[0]).toMatch(new RegExp(`^${tmp}/mcollective_request`));
    expect(proc.argv[1]).toMatch(new RegExp(`^${tmp}/mcollective_reply`));
    expect(proc.env.LC_ALL).toBe('C');
    expect(proc.env.TMPDIR).toBe(tmp); // the daemon's environment is inherited
    expect(proc).toMatchObject({
      cwd: tmp,
      pgid: proc.pid, // its own process group
      stdin: '/dev/null',
      request_mode: '600',
      request_ends_with_newline: true,
      reply_size_before: 0,
    });
    // reply keys that the DDL does not declare pass through, nested keys untouched
    expect(reply.data.undeclared).toEqual({ nested: { kept: true } });
  }
});

test.each([1, 2, 3, 4, 5])('exit code %i becomes the same statuscode, with the stderr line as statusmsg', async (code) => {
  const reply = await shoutOnHv1(`exitcode=${code}`);
  expect(reply.statuscode).toBe(code);
  expect(reply.statusmsg).toBe(`shout failed on hv1 with code ${code}`);
  expect(reply.data.identity).toBe('hv1'); // the reply file is merged even on failure
});

test.each(['badjson', 'array', 'empty'])('reply file mode %s leaves the DDL output defaults, as implemented_by does', async (mode) => {
  const reply = await shoutOnHv1(`reply=${mode}`);
  expect(reply.statuscode).toBe(0);
  expect(reply.data).toEqual({ identity: null, message: null, request: null, process: null });
});

test('an exit code above 5 becomes statuscode 5 and says so', async () => {
  const reply = await shoutOnHv1('exitcode=6');
  expect(reply.statuscode).toBe(5);
  expect(reply.statusmsg).toMatch(/^echo#shout command: \S+ exited with code 6: shout failed on hv1 with code 6$/);
});

test('death by signal becomes statuscode 5 and names the signal', async () => {
  const reply = await shoutOnHv1('signal=KILL');
  expect(reply.statuscode).toBe(5);
  expect(reply.statusmsg).toMatch(/was killed by signal SIGKILL$/);
});

test('a program that is not executable is statuscode 1 "Cannot execute"', async () => {
  const reply = onlyReply(await fleet.mco(['rpc', 'echo', 'broken', '-I', 'hv1', '--json']));
  expect(reply.statuscode).toBe(1);
  expect(reply.statusmsg).toMatch(/^Cannot execute echo#broken command: \S+\/not-executable/);
});

test('a hung program is killed with its whole process group and answered with an error', async () => {
  const pidfile = join(fleet.dir, 'linger.pids');
  // The program and its child both ignore SIGTERM: only the runner's SIGKILL to the group ends them.
  const result = await fleet.mco(['rpc', 'echo', 'linger', 'seconds=60', `pidfile=${pidfile}`, 'ignore_term=true', '-I', 'hv1', '--json']);
  const reply = onlyReply(result);
  expect(reply.statuscode).toBe(1);
  // DDL timeout 5 s: M = 2 s, hvagent would have answered by 5 - 2 + 1.5 = 4.5 s; TERM then, KILL at 4.8 s
  expect(reply.statusmsg).toMatch(/^echo#linger command: \S+ did not finish within 4\.5s and was killed$/);

  const pids = (await readFile(pidfile, 'utf8')).trim().split(' ').map(Number);
  expect(pids).toHaveLength(2);
  const deadline = Date.now() + 5_000;
  let alive = pids;
  while (alive.length > 0 && Date.now() < deadline) {
    alive = (await Promise.all(pids.map(async (pid) => ((await processGone(pid)) ? null : pid)))).filter((p) => p !== null);
    if (alive.length > 0) await new Promise((r) => setTimeout(r, 100));
  }
  expect(alive).toEqual([]);
});

test('the fleet runs stock MCollective: implemented_by itself is broken on Ruby >= 3', async () => {
  const { stdout: rubyVersion } = await execa('ruby', ['-e', 'print RUBY_VERSION']);
  const reply = onlyReply(await fleet.mco(['rpc', 'echo', 'legacy', '-I', 'hv1', '--json']));
  if (Number(rubyVersion.split('.')[0]) >= 3) {
    expect(reply.statuscode).toBe(1);
    expect(reply.statusmsg).toMatch(/NoMethodError: undefined method `thread'/);
  } else {
    expect(reply.statuscode).toBe(0);
  }
});
