// The Debian package (`npm run package`) installed with dpkg on a clean Debian 12 root
// (scripts/debian-root.sh: debootstrap minbase plus the package's Depends, built once and
// cached), with the Node that root has (Debian's nodejs 18): the agent runs there against
// libvirt's test driver, the postinst installs the MCollective plugin where MCollective is
// present (Debian's own packages, installed from the cached .debs) and the Choria plugin
// where Choria's configuration is, and removal takes all of it away again. Each case works
// on an overlay over the cached root, with /proc mounted, and unmounts both however it ends.
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO } from '../helpers/agent.js';

const ASSETS = process.env.HVAGENT_ASSETS ?? '/var/lib/hvagent/test-assets';
const ROOT = join(ASSETS, 'debian-root', 'root');
const MCOLLECTIVE_DEBS = join(ASSETS, 'debian-root', 'mcollective');
const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
const work = mkdtempSync(join(tmpdir(), 'cli-package-deb-'));
let deb = '';

interface Ran {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A throw-away Debian root: an overlay over the cached one, with /proc. */
class Chroot {
  readonly merged: string;
  private readonly base: string;

  constructor(name: string) {
    this.base = join(work, name);
    this.merged = join(this.base, 'merged');
  }

  async mount(): Promise<void> {
    for (const dir of ['upper', 'work', 'merged']) mkdirSync(join(this.base, dir), { recursive: true });
    await execa('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${ROOT},upperdir=${join(this.base, 'upper')},workdir=${join(this.base, 'work')}`, this.merged]);
    await execa('mount', ['-t', 'proc', 'proc', join(this.merged, 'proc')]);
  }

  async unmount(): Promise<void> {
    for (const target of [join(this.merged, 'proc'), this.merged]) {
      const mounted = readFileSync('/proc/mounts', 'utf8').split('\n').some((line) => line.split(' ')[1] === target);
      if (mounted) await execa('umount', [target]).catch(() => execa('umount', ['-l', target]));
    }
  }

  run(command: string[], env: Record<string, string> = {}): Promise<Ran> {
    return execa('chroot', [this.merged, ...command], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', ...env },
      extendEnv: false,
      reject: false,
    }).then((ran) => ({ exitCode: ran.exitCode ?? -1, stdout: String(ran.stdout), stderr: String(ran.stderr) }));
  }

  async mustRun(command: string[], env: Record<string, string> = {}): Promise<string> {
    const ran = await this.run(command, env);
    if (ran.exitCode !== 0) throw new Error(`${command.join(' ')} exited ${ran.exitCode}: ${ran.stderr}${ran.stdout}`);
    return ran.stdout;
  }

  path(inside: string): string {
    return join(this.merged, inside);
  }

  async installDeb(): Promise<string> {
    writeFileSync(this.path('tmp/hvagent.deb'), readFileSync(deb));
    return this.mustRun(['dpkg', '-i', '/tmp/hvagent.deb']);
  }
}

const chroots: Chroot[] = [];
async function freshRoot(name: string): Promise<Chroot> {
  const root = new Chroot(name);
  chroots.push(root);
  await root.mount();
  return root;
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'usr/bin/node'))) throw new Error(`no Debian root at ${ROOT}: run scripts/debian-root.sh (npm test does)`);
  deb = String((await execa('node', [join(REPO, 'scripts/package.mjs'), join(work, 'out')])).stdout).trim();
}, 120_000);

afterAll(async () => {
  for (const root of chroots) await root.unmount();
  rmSync(work, { recursive: true, force: true });
});

describe('the package on a clean Debian 12 root', () => {
  let root: Chroot;
  beforeAll(async () => {
    root = await freshRoot('clean');
  });

  test('installs with dpkg: its Depends are all that root needs', async () => {
    expect(existsSync(root.path('usr/bin/hvagent'))).toBe(false);
    await root.installDeb();
    expect(await root.mustRun(['dpkg-query', '-W', '-f', '${Status} ${Version}', 'hvagent'])).toBe(`install ok installed ${version}`);
  });

  test("hvagent --version and host info run on the root's own Node, against libvirt's test driver", async () => {
    const node = (await root.mustRun(['node', '--version'])).trim();
    expect(node).toMatch(/^v18\./);
    const versionRan = await root.run(['hvagent', '--version']);
    expect(versionRan).toEqual({ exitCode: 0, stdout: `hvagent ${version}`, stderr: '' });
    const info = await root.run(['hvagent', 'host', 'info'], { HVAGENT_URI: 'test:///default' });
    expect(info.stderr).toBe('');
    expect(info.exitCode).toBe(0);
    expect(info.stdout).toMatch(/^Hypervisor:\n(  .*\n)*  uri: +test:\/\/\/default$/m);
    expect(info.stdout).toMatch(/^  driver: +TEST$/m);
    // The test driver's own domain, as its built-in definition has it.
    const vm = JSON.parse(await root.mustRun(['hvagent', 'vm', 'info', 'name=test', '--json'], { HVAGENT_URI: 'test:///default' }));
    expect(vm).toMatchObject({ statuscode: 0, data: { name: 'test', state: 'running', vcpus: 2, memory_mb: 2048 } });
  });

  test('the configuration is a conffile at its defaults, the unit runs hvagent serve, completion is in place', async () => {
    const conffiles = await root.mustRun(['dpkg-query', '-W', '-f', '${Conffiles}', 'hvagent']);
    expect(conffiles).toMatch(/^ \/etc\/hvagent\/hvagent\.yaml [0-9a-f]{32}$/m);
    const config = JSON.parse(await root.mustRun(['hvagent', 'host', 'agent_info', '--json']));
    expect(config.data).toMatchObject({ config_file: '/etc/hvagent/hvagent.yaml' });
    expect(readFileSync(root.path('lib/systemd/system/hvagent.service'), 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/hvagent serve$/m);
    // Enabled, as Debian enables a daemon's unit (this root runs no systemd: nothing is started).
    expect(lstatSync(root.path('etc/systemd/system/multi-user.target.wants/hvagent.service')).isSymbolicLink()).toBe(true);
    expect(await root.mustRun(['bash', '-c', 'source /usr/share/bash-completion/completions/hvagent && complete -p hvagent'])).toBe('complete -F _hvagent hvagent');
    expect(existsSync(root.path('usr/share/zsh/vendor-completions/_hvagent'))).toBe(true);
  });

  test('postinst wrote the code caches for this Node and, with no MCollective or Choria here, no plugin', async () => {
    const caches = readdirSync(root.path('usr/lib/hvagent')).filter((name) => name.endsWith('.cache'));
    expect(caches).toContain('hvagent.bundle.cache');
    expect(readFileSync(root.path('var/lib/hvagent/package/plugin-files'), 'utf8')).toBe('');
  });

  test('purge leaves nothing of the package', async () => {
    await root.mustRun(['dpkg', '--purge', 'hvagent']);
    for (const gone of ['usr/lib/hvagent', 'usr/bin/hvagent', 'etc/hvagent', 'var/lib/hvagent', 'lib/systemd/system/hvagent.service', 'etc/systemd/system/multi-user.target.wants/hvagent.service', 'etc/systemd/system/hvagent.service']) {
      // lstat: a symbolic link left behind counts, whether or not it points anywhere.
      expect(lstatSync(root.path(gone), { throwIfNoEntry: false })).toBeUndefined();
    }
  });
});

describe('the package where MCollective and Choria are present', () => {
  let root: Chroot;
  const choriaLibdir = '/srv/choria/plugins';

  beforeAll(async () => {
    root = await freshRoot('servers');
    // Debian's MCollective, from its cached packages.
    const debs = readdirSync(MCOLLECTIVE_DEBS).filter((name) => name.endsWith('.deb'));
    mkdirSync(root.path('tmp/mcollective'));
    for (const name of debs) writeFileSync(root.path(`tmp/mcollective/${name}`), readFileSync(join(MCOLLECTIVE_DEBS, name)));
    await root.mustRun(['sh', '-c', 'dpkg -i /tmp/mcollective/*.deb']);
    // Choria is not packaged in Debian: its server configuration stands in for it, which is
    // all the postinst reads. The layout itself is proven by test/integration/choria.test.ts.
    console.warn('STAND-IN: Choria is not in Debian; the package test gives the root a Choria server.conf only');
    mkdirSync(root.path('etc/choria'));
    writeFileSync(root.path('etc/choria/server.conf'), `plugin.choria.agent_provider.mcorpc.libdir = ${choriaLibdir}\n`);
    await root.installDeb();
  }, 240_000);

  test('the MCollective plugin is in MCollective\'s libdir, and MCollective reads its DDL', async () => {
    const agentDir = root.path('usr/share/mcollective/plugins/mcollective/agent');
    for (const file of ['vm.ddl', 'vm.rb', 'hvagent/hvagent']) expect(existsSync(join(agentDir, file))).toBe(true);
    const doc = await root.mustRun(['mco', 'plugin', 'doc', 'agent/vm']);
    expect(doc).toContain('Create, control, modify, snapshot and delete the virtual machines');
  });

  test('the Choria plugin is in the libdir its configuration names, and answers as Choria calls it', async () => {
    const executable = join(choriaLibdir, 'mcollective/agent/host');
    expect(existsSync(root.path(join(choriaLibdir, 'mcollective/agent/host.json')))).toBe(true);
    writeFileSync(root.path('tmp/request.json'), JSON.stringify({ protocol: 'io.choria.mcorpc.external.v1.rpc_request', agent: 'host', action: 'agent_info', requestid: 'r1', data: {} }));
    await root.mustRun(['env', '-i', 'PATH=/usr/bin:/bin', 'CHORIA_EXTERNAL_PROTOCOL=io.choria.mcorpc.external.v1.rpc_request', 'CHORIA_EXTERNAL_REQUEST=/tmp/request.json', 'CHORIA_EXTERNAL_REPLY=/tmp/reply.json', executable, '/tmp/request.json', '/tmp/reply.json', 'io.choria.mcorpc.external.v1.rpc_request']);
    const reply = JSON.parse(readFileSync(root.path('tmp/reply.json'), 'utf8'));
    expect(reply).toMatchObject({ statuscode: 0, data: { version, protocol: 'choria' } });
    expect(reply.data.node_version).toMatch(/^18\./);
  });

  test("removal takes the plugins away and leaves MCollective's own", async () => {
    await root.mustRun(['dpkg', '--remove', 'hvagent']);
    expect(existsSync(root.path('usr/share/mcollective/plugins/mcollective/agent/vm.ddl'))).toBe(false);
    expect(existsSync(root.path('usr/share/mcollective/plugins/mcollective/agent/hvagent'))).toBe(false);
    expect(existsSync(root.path(join(choriaLibdir, 'mcollective/agent/host')))).toBe(false);
    expect(existsSync(root.path('usr/lib/ruby/vendor_ruby/mcollective/agent/rpcutil.ddl'))).toBe(true);
    expect(existsSync(root.path('usr/share/mcollective/plugins/README.md'))).toBe(true);
    expect(existsSync(root.path('etc/hvagent/hvagent.yaml'))).toBe(true); // a conffile stays until purge
  });
});
