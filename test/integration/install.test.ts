import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { AGENT, cli, REPO } from '../helpers/agent.js';
import { choriaActivation, choriaRpc } from '../helpers/choria.js';

/** An installation in `dir`, and the files and environment of a request it refuses (an undeclared input), as Choria hands them over. */
async function installedRefusal(dir: string): Promise<{ request: string; reply: string; env: Record<string, string> }> {
  expect((await cli(['install', 'choria', dir])).exitCode).toBe(0);
  const request = join(dir, 'request');
  const reply = join(dir, 'reply');
  writeFileSync(request, JSON.stringify({ protocol: 'io.choria.mcorpc.external.v1.rpc_request', agent: 'host', action: 'info', requestid: 'p1', data: { bogus: 1 } }));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HVAGENT_SOCKET: 'none', CHORIA_EXTERNAL_PROTOCOL: 'io.choria.mcorpc.external.v1.rpc_request', CHORIA_EXTERNAL_REQUEST: request, CHORIA_EXTERNAL_REPLY: reply };
  return { request, reply, env };
}

describe('hvagent install', () => {
  test('choria: JSON DDL plus an executable where go-choria looks (DIR/mcollective/agent/<agent>)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-choria-'));
    const ran = await cli(['install', 'choria', dir]);
    expect(ran.exitCode).toBe(0);
    const agentDir = join(dir, 'mcollective', 'agent');
    expect(readFileSync(join(agentDir, 'host.json'), 'utf8')).toBe(readFileSync(join(REPO, 'agent', 'host.json'), 'utf8'));
    const executable = statSync(join(agentDir, 'host'));
    expect(executable.isFile()).toBe(true);
    expect(executable.mode & 0o111).toBe(0o111);
    // The kernel starts the Node that installed it (and wrote its caches), with no env(1) first.
    expect(readFileSync(join(agentDir, 'host'), 'utf8').split('\n')[0]).toBe(`#!${process.execPath} --preserve-symlinks-main`);

    // The installed copy is self-contained: it runs with nothing of the checkout beside it.
    expect((await choriaActivation({ executable: join(agentDir, 'host') }, 'host')).activate).toBe(true);
    const outcome = await choriaRpc({ executable: join(agentDir, 'host') }, 'host', 'info', { x: 1 });
    expect(outcome.published).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_UNDECLARED' } });
    const real = await choriaRpc({ executable: join(agentDir, 'host') }, 'host', 'agent_info', {});
    expect(real.published).toMatchObject({ statuscode: 0 });
  });

  test('run through a symbolic link (as /usr/bin/hvagent is), the executable finds its pieces beside the file the link names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-choria-'));
    expect((await cli(['install', 'choria', dir])).exitCode).toBe(0);
    const bin = mkdtempSync(join(tmpdir(), 'hv-bin-'));
    symlinkSync(join(dir, 'mcollective', 'agent', 'host'), join(bin, 'hvagent'));
    const ran = await execa(join(bin, 'hvagent'), ['rpc'], {
      input: JSON.stringify({ agent: 'host', action: 'agent_info', data: {} }),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HVAGENT_SOCKET: 'none' },
      extendEnv: false,
      reject: false,
    });
    expect([ran.exitCode, ran.stderr]).toEqual([0, '']);
    expect(JSON.parse(ran.stdout)).toMatchObject({ statuscode: 0, data: { protocol: 'stdio', agents: expect.arrayContaining(['host', 'vm']) } });
  });

  test('caches written by another Node version are offered to vm.Script alone, and the request is answered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-choria-'));
    expect((await cli(['install', 'choria', dir])).exitCode).toBe(0);
    const pieces = join(dir, 'mcollective', 'agent', 'hvagent');
    const caches = readdirSync(pieces).filter((name) => name.endsWith('.cache'));
    expect(caches).toContain('hvagent.bundle.cache');
    for (const cache of caches) {
      const text = readFileSync(join(pieces, cache), 'utf8');
      // The header is the piece's build id (64 hex digits), the writer's Node version, a newline.
      expect(text.slice(64, text.indexOf('\n'))).toBe(process.version);
      writeFileSync(join(pieces, cache), `${text.slice(0, 64)}v0.0.0${text.slice(text.indexOf('\n'))}`);
    }
    const refused = await choriaRpc({ executable: join(dir, 'mcollective', 'agent', 'host') }, 'host', 'info', { x: 1 });
    expect(refused.published).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_UNDECLARED' } });
    const answered = await choriaRpc({ executable: join(dir, 'mcollective', 'agent', 'host') }, 'host', 'agent_info', {});
    expect(answered.published).toMatchObject({ statuscode: 0 });
  });

  test('a refused request loads only its own agent: no handlers, no libraries, no other agent\'s DDL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-choria-'));
    expect((await cli(['install', 'choria', dir])).exitCode).toBe(0);
    const agentDir = join(dir, 'mcollective', 'agent');
    const pieces = join(agentDir, 'hvagent');
    for (const unneeded of ['hvagent.vendor.cjs', 'hvagent.actions.cjs', 'hvagent.ddl.agent-vm.cjs', 'hvagent.ddl.config.cjs']) rmSync(join(pieces, unneeded));
    const refused = await choriaRpc({ executable: join(agentDir, 'host') }, 'host', 'info', { x: 1 });
    expect(refused.published).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_UNDECLARED' } });
    // Its own agent's DDL is what the refusal is checked against.
    rmSync(join(pieces, 'hvagent.ddl.agent-host.cjs'));
    const withoutDdl = await choriaRpc({ executable: join(agentDir, 'host') }, 'host', 'info', { x: 1 });
    expect(JSON.stringify(withoutDdl.published)).toContain('hvagent.ddl.agent-host.cjs');
  });

  test('a refused request loads no Node built-in module (node:crypto, say, brings the stream stack: P1 went 1.16x -> 1.34x; node:vm costs 0.35 M instructions)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-choria-'));
    try {
      const { request, reply, env } = await installedRefusal(dir);
      const loaded = join(dir, 'loaded');
      const preload = join(dir, 'record-builtins.cjs');
      // Node lists every built-in module it has loaded; the preload keeps those loaded after it.
      writeFileSync(
        preload,
        `const before = new Set(process.moduleLoadList);\nprocess.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule ')).join('\\n')));\n`,
      );
      await execa(process.execPath, ['--require', preload, join(dir, 'mcollective', 'agent', 'host'), request, reply, 'x'], { env, extendEnv: false, reject: false });
      expect(JSON.parse(readFileSync(reply, 'utf8'))).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_UNDECLARED' } });
      expect(readFileSync(loaded, 'utf8').split('\n').filter((line) => line !== '')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('where pending deprecations are asked for, a refusal is answered without a deprecation warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-choria-'));
    try {
      const { request, reply, env } = await installedRefusal(dir);
      for (const asked of [{ NODE_PENDING_DEPRECATION: '1' }, { NODE_OPTIONS: '--pending-deprecation' }]) {
        rmSync(reply, { force: true });
        const ran = await execa(join(dir, 'mcollective', 'agent', 'host'), [request, reply, 'io.choria.mcorpc.external.v1.rpc_request'], { env: { ...env, ...asked }, extendEnv: false, reject: false });
        expect([ran.exitCode, ran.stderr]).toEqual([0, '']);
        expect(JSON.parse(readFileSync(reply, 'utf8'))).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_UNDECLARED' } });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the caches' warm-up refuses a request of its own and writes its audit line to a scratch file, not to the host's audit log", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-choria-'));
    const auditLog = '/var/log/hvagent/audit.log';
    const warmUpLines = () => (existsSync(auditLog) ? readFileSync(auditLog, 'utf8').split('\n').filter((line) => line.includes('"request_id":"warmup"')).length : 0);
    try {
      const before = warmUpLines();
      expect((await cli(['install', 'choria', dir])).exitCode).toBe(0);
      expect(warmUpLines()).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an action that runs loads the libraries it needs (hvagent.vendor.cjs), and says which file when one is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-choria-'));
    expect((await cli(['install', 'choria', dir])).exitCode).toBe(0);
    const agentDir = join(dir, 'mcollective', 'agent');
    rmSync(join(agentDir, 'hvagent', 'hvagent.vendor.cjs'));
    // An action does need them: without the file it fails, and says which file.
    const needsThem = await choriaRpc({ executable: join(agentDir, 'host') }, 'host', 'info', {});
    expect(needsThem.published).toMatchObject({ statuscode: 5 });
    expect(JSON.stringify(needsThem.published)).toContain('hvagent.vendor.cjs');
  });

  test('a CLI request that hvagent serve answers loads no handlers: an installation without the actions piece still prints its table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-cli-piece-'));
    // A private server on libvirt's test driver: its one domain, `test`, is not on this host, so it shows who answered.
    const config = join(dir, 'hvagent.yaml');
    writeFileSync(config, `paths: { jobs_dir: ${join(dir, 'jobs')}, lock_dir: ${join(dir, 'locks')} }\nlibvirt: { uri: 'test:///default', lxc_uri: 'test:///default' }\n`);
    const socket = join(dir, 'hvagent.sock');
    const server = execa(AGENT, ['serve', '--listen', `unix:${socket}`], { env: { PATH: process.env.PATH, HVAGENT_CONFIG: config }, extendEnv: false, reject: false, all: true, buffer: false, stdin: 'ignore' });
    try {
      await new Promise<void>((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 60_000);
        server.all?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes(`listening on unix:${socket}`)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      expect((await cli(['install', 'choria', join(dir, 'install')])).exitCode).toBe(0);
      const agentDir = join(dir, 'install', 'mcollective', 'agent');
      for (const unneeded of ['hvagent.actions.cjs', 'hvagent.vendor.cjs', 'hvagent.ddl.config.cjs']) rmSync(join(agentDir, 'hvagent', unneeded));
      const installedCli = (env: Record<string, string>) =>
        execa(process.execPath, [join(agentDir, 'host'), 'vm', 'list'], { env: { PATH: process.env.PATH, ...env }, extendEnv: false, reject: false, stdin: 'ignore' });
      const handedOver = await installedCli({ HVAGENT_SOCKET: socket });
      expect([handedOver.exitCode, handedOver.stderr]).toEqual([0, '']);
      expect(handedOver.stdout).toMatch(/^NAME +STATE +CLASS +VCPUS +MEM\(MiB\)/);
      expect(handedOver.stdout).toMatch(/^test +running +/m);
      // Run here, the same request does need the actions piece, and says so.
      const local = await installedCli({ HVAGENT_SOCKET: 'none' });
      expect(local.exitCode).not.toBe(0);
      expect(local.stderr).toContain('hvagent.actions.cjs');
    } finally {
      server.kill('SIGTERM');
      await server;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('mcollective: stub, Ruby DDL, runner and executable; reinstalling replaces them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-mco-'));
    expect((await cli(['install', 'mcollective', dir])).exitCode).toBe(0);
    expect((await cli(['install', 'mcollective', dir])).exitCode).toBe(0);
    const agentDir = join(dir, 'mcollective', 'agent');
    for (const file of ['host.rb', 'host.ddl']) {
      expect(readFileSync(join(agentDir, file), 'utf8')).toBe(readFileSync(join(REPO, 'mcollective', 'agent', file), 'utf8'));
    }
    // The runner, the aggregates that skip failed replies, the data plugin and `mco hvagent`, as in the repository.
    const handWritten = ['util/hvagent_runner.rb', 'aggregate/hvagent_sum.rb', 'aggregate/hvagent_sum.ddl', 'aggregate/hvagent_average.rb', 'aggregate/hvagent_average.ddl',
      'data/hvagent_data.rb', 'data/hvagent_data.ddl', 'application/hvagent.rb', 'application/hvagent.ddl'];
    for (const file of handWritten) {
      expect([file, readFileSync(join(dir, 'mcollective', file), 'utf8')]).toEqual([file, readFileSync(join(REPO, 'mcollective', file), 'utf8')]);
    }
    expect(statSync(join(agentDir, 'hvagent', 'hvagent')).mode & 0o111).toBe(0o111);
    expect(existsSync(join(agentDir, 'host.json'))).toBe(false);
    const ruby = await execa('ruby', ['-c', join(agentDir, 'host.rb')], { reject: false });
    expect(String(ruby.stdout)).toBe('Syntax OK');
  });

  test('usage errors change nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-none-'));
    const ran = await cli(['install', 'puppet', dir]);
    expect(ran.exitCode).toBe(2);
    expect(ran.stderr).toContain('usage: hvagent install choria|mcollective DIR');
    expect(existsSync(join(dir, 'mcollective'))).toBe(false);
  });
});
