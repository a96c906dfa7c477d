// Requests killed at random moments leave nothing half-made (docs/RELIABILITY.md, "Crash
// safety"). Six kinds of work that make things step by step, each run in the agent and
// killed part-way, at a moment drawn uniformly from the time a clean run of it takes (after
// the agent's own start-up):
// an image provision (volumes, a cloud-init seed, a domain), a container provision (a root directory
// unpacked, a domain started), a template import (a part file, a file renamed into the
// catalogue), a network create (defined, marked autostart, started), a pool create (its
// directories, a drop-in file, libvirt's mirror) and a volume copy (a part file linked into place).
//   SIGKILL (Choria's kill): the agent cannot act; the next request that starts, or the
//     identical one, finishes the rollback from the intent journal.
//   SIGTERM (the MCollective runner's, an operator's): the agent undoes what it made and
//     replies CANCELLED at once, with nothing left behind.
// After each kill: no domain, volume, part file or stray template file, and no journal
// entry; and then the identical request succeeds.
// Another, `vm delete`, is finished forward: killed, the VM is whole or entirely gone.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { AGENT, agentEnv, type Reply } from '../helpers/agent.js';
import { domstate, LXC_URI, QEMU_URI } from '../vm/helpers.js';
import { buildTestTemplates, CATALOGUE, makeSandbox, type Sandbox } from './helpers.js';

/** Kills of each signal per kind of work: 6 kinds × 8 = 48 SIGKILLs and 48 SIGTERMs. */
const KILLS = Number(process.env.HVAGENT_CRASH_KILLS ?? 8);
const BOUND_MS = 120_000;

let box: Sandbox;
let locks: string;
let catalogue: string;
let importDir: string;
let importConfig: string;

beforeAll(async () => {
  await buildTestTemplates();
  box = makeSandbox();
  locks = join(box.root, 'locks');
  catalogue = join(box.root, 'catalogue');
  importDir = join(box.root, 'import');
  mkdirSync(importDir, { recursive: true });
  mkdirSync(temporary(), { recursive: true });
  // The import source is the test image compressed: decompressing makes the import long
  // enough for kills to land in every part of it.
  await execa('sh', ['-c', `xz -1 -T1 -c ${join(CATALOGUE, 'images', 'tiny.qcow2')} > ${join(importDir, 'tiny.qcow2.xz')}`]);
  const paths = ['paths:', `  lock_dir: ${locks}`, `  jobs_dir: ${join(box.root, 'jobs')}`, `  console_log_dir: ${join(box.root, 'console')}`, ''].join('\n');
  writeFileSync(box.config, `${readFileSync(box.config, 'utf8')}${paths}`);
  importConfig = join(box.root, 'import.yaml');
  writeFileSync(importConfig, `${paths}templates:\n  catalogue: ${catalogue}\n  import_dirs: [${importDir}]\n`);
}, BOUND_MS);

afterAll(async () => {
  for (const name of made) {
    await execa('virsh', ['-c', QEMU_URI, 'net-destroy', name], { reject: false });
    await execa('virsh', ['-c', QEMU_URI, 'net-undefine', name], { reject: false });
    await execa('virsh', ['-c', QEMU_URI, 'pool-destroy', `hvagent-${name}`], { reject: false });
    await execa('virsh', ['-c', QEMU_URI, 'pool-undefine', `hvagent-${name}`], { reject: false });
    for (const uri of [QEMU_URI, LXC_URI]) {
      await execa('virsh', ['-c', uri, 'destroy', name], { reject: false });
      await execa('virsh', ['-c', uri, 'undefine', name], { reject: false });
    }
  }
  await box?.remove();
});

const made = new Set<string>();

interface Work {
  /** The request, for the iteration's fresh name. */
  request(name: string): { agent: string; action: string; data: Record<string, unknown> };
  config(): string;
  /** What is half-made or left over after the request, if anything. */
  leftovers(name: string): Promise<string[]>;
  /** Removes what the successful request made. */
  remove(name: string): Promise<void>;
  /** Whether what the request makes is there, whole (asked through the agent). */
  exists(name: string): Promise<boolean>;
}

/** The agent's TMPDIR: its private directories (a domain's XML, an unpacking's list, a seed) are made there. */
const temporary = () => join(box.root, 'tmp');
const temporaries = () => readdirSync(temporary()).map((entry) => `tmp: ${entry}`);
/** Where `pool create` writes its drop-in files: pools.d beside the sandbox's hvagent.yaml. */
const dropins = () => join(box.root, 'pools.d');
const journal = () => (existsSync(join(locks, 'intents')) ? readdirSync(join(locks, 'intents')).map((entry) => `journal: ${entry}`) : []);

async function domainsNamed(name: string): Promise<string[]> {
  const found: string[] = [];
  for (const uri of [QEMU_URI, LXC_URI]) if ((await domstate(name, uri)) !== 'absent') found.push(`domain ${uri} ${name}`);
  return found;
}

/** libvirt's networks are its network driver's, shared by both connections: asked once. */
async function networksNamed(name: string): Promise<string[]> {
  return (await execa('virsh', ['-c', QEMU_URI, 'net-uuid', name], { reject: false })).exitCode === 0 ? [`network ${name}`] : [];
}

function filesUnder(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(directory, join(entry.parentPath, entry.name)));
}

const WORK: Record<string, Work> = {
  'image provision': {
    request: (name) => ({
      agent: 'vm',
      action: 'create',
      // hostname: a cloud-init seed too (an ISO made in a private directory, then a volume).
      data: { name, vm_class: 'qemu', template: 'image:tiny', pool: 'flat', data_disks: 'vms:16', network: 'default', memory_mb: 128, autostart: true, hostname: name },
    }),
    config: () => box.config,
    leftovers: async (name) => [...(await domainsNamed(name)), ...box.leftovers(), ...temporaries(), ...journal()],
    remove: async (name) => void (await rpc({ agent: 'vm', action: 'delete', data: { name, remove_volumes: true } }, box.config)),
    exists: (name) => vmWhole(name),
  },
  'container provision': {
    request: (name) => ({ agent: 'vm', action: 'create', data: { name, vm_class: 'lxc', template: 'lxc:busybox', pool: 'ct', memory_mb: 64, start: true } }),
    config: () => box.config,
    leftovers: async (name) => [...(await domainsNamed(name)), ...box.leftovers(), ...temporaries(), ...journal()],
    remove: async (name) => void (await rpc({ agent: 'vm', action: 'delete', data: { name, force: true, remove_volumes: true } }, box.config)),
    exists: (name) => vmWhole(name),
  },
  'template import': {
    request: (name) => ({ agent: 'template', action: 'import', data: { ref: `image:${name}`, source: join(importDir, 'tiny.qcow2.xz') } }),
    config: () => importConfig,
    // A killed import may have committed (its reply was lost): that is a whole template. Any
    // other file (a part file, a file the manifest does not name) is a leftover.
    leftovers: async () => {
      const manifest = existsSync(join(catalogue, 'catalogue.yaml')) ? (parse(readFileSync(join(catalogue, 'catalogue.yaml'), 'utf8')) as { templates?: Array<{ file?: string }> }) : {};
      const named = new Set((manifest.templates ?? []).map((entry) => entry.file));
      return [...filesUnder(catalogue).filter((file) => file !== 'catalogue.yaml' && !named.has(file)), ...journal()];
    },
    remove: async (name) => void (await rpc({ agent: 'template', action: 'delete', data: { ref: `image:${name}` } }, importConfig)),
    exists: async (name) => (await rpc({ agent: 'template', action: 'info', data: { ref: `image:${name}` } }, importConfig)).statuscode === 0,
  },
  'network create': {
    // Defined, marked autostart and started in one virsh batch: killed after the define, an
    // autostart network would come up at libvirtd's next start, taking its bridge.
    request: (name) => ({ agent: 'network', action: 'create', data: { name, mode: 'isolated', autostart: true, start: true } }),
    config: () => box.config,
    leftovers: async (name) => [...(await networksNamed(name)), ...journal()],
    remove: async (name) => void (await rpc({ agent: 'network', action: 'delete', data: { name } }, box.config)),
    exists: async (name) => {
      const info = (await execa('virsh', ['-c', QEMU_URI, 'net-info', name], { reject: false })).stdout;
      return /^Active:\s+yes$/m.test(info) && /^Autostart:\s+yes$/m.test(info);
    },
  },
  'pool create': {
    // Two directories made, a drop-in file written and fsynced, libvirt's mirror defined and started.
    request: (name) => ({ agent: 'pool', action: 'create', data: { name, plugin: 'qcow2', path: join(box.root, 'made', name, 'deeper') } }),
    config: () => box.config,
    leftovers: async (name) => [
      ...(existsSync(join(box.root, 'made', name)) ? [`directory made/${name}`] : []),
      ...(existsSync(dropins()) ? readdirSync(dropins()).filter((file) => file.includes(name)).map((file) => `pools.d/${file}`) : []),
      ...((await execa('virsh', ['-c', QEMU_URI, 'pool-uuid', `hvagent-${name}`], { reject: false })).exitCode === 0 ? [`libvirt pool hvagent-${name}`] : []),
      ...journal(),
    ],
    // pool delete removes the pool's own directory; the parent the create made too stays, by design.
    remove: async (name) => {
      expect((await rpc({ agent: 'pool', action: 'delete', data: { name } }, box.config)).statuscode).toBe(0);
      rmdirSync(join(box.root, 'made', name));
    },
    exists: async (name) =>
      existsSync(join(box.root, 'made', name, 'deeper')) &&
      existsSync(join(dropins(), `${name}.yaml`)) &&
      /^State:\s+running$/m.test((await execa('virsh', ['-c', QEMU_URI, 'pool-info', `hvagent-${name}`], { reject: false })).stdout),
  },
  'volume copy': {
    request: (name) => ({ agent: 'volume', action: 'create', data: { pool: 'flat', name, source: join(CATALOGUE, 'images', 'tiny.qcow2'), image_format: 'qcow2' } }),
    config: () => box.config,
    leftovers: async () => [...box.leftovers(), ...journal()],
    remove: async (name) => void (await rpc({ agent: 'volume', action: 'delete', data: { pool: 'flat', name } }, box.config)),
    exists: async (name) => (await rpc({ agent: 'volume', action: 'info', data: { pool: 'flat', name } }, box.config)).statuscode === 0,
  },
};

/** The VM is defined and every volume its metadata names is there. */
async function vmWhole(name: string): Promise<boolean> {
  const info = await rpc({ agent: 'vm', action: 'info', data: { name } }, box.config);
  if (info.statuscode !== 0) return false;
  const volumes = String((info.data.metadata as { volumes?: string } | null)?.volumes ?? '').split(',').filter(Boolean);
  const infos = await Promise.all(volumes.map((volume) => rpc({ agent: 'volume', action: 'info', data: { pool: volume.split('/')[0], name: volume.split('/')[1] } }, box.config)));
  return volumes.length > 0 && infos.every((reply) => reply.statuscode === 0);
}

function spawnAgent(request: object, config: string) {
  return execa(AGENT, ['rpc'], { input: JSON.stringify(request), env: agentEnv({ HVAGENT_CONFIG: config, TMPDIR: temporary() }), extendEnv: false, reject: false, timeout: BOUND_MS });
}

async function rpc(request: object, config: string): Promise<Reply> {
  const ran = await spawnAgent(request, config);
  return JSON.parse(String(ran.stdout)) as Reply;
}

function newName(): string {
  const name = `cs-${randomBytes(4).toString('hex')}`;
  made.add(name);
  return name;
}

/** How long a clean run of the work takes (ms), proving on the way that it works and cleans up. */
async function cleanRunMs(work: Work): Promise<number> {
  const name = newName();
  const started = Date.now();
  const reply = await rpc(work.request(name), work.config());
  const took = Date.now() - started;
  expect(reply).toMatchObject({ statuscode: 0 });
  await work.remove(name);
  expect(await work.leftovers(name)).toEqual([]);
  return took;
}

/** The identical request succeeds, and what it made goes again without a trace. */
async function identicalSucceeds(work: Work, name: string): Promise<void> {
  const again = await rpc(work.request(name), work.config());
  expect({ name, statuscode: again.statuscode, statusmsg: again.statusmsg }).toEqual({ name, statuscode: 0, statusmsg: 'OK' });
  await work.remove(name);
  expect(await work.leftovers(name)).toEqual([]);
}

const tally: Record<string, Record<string, number>> = {};
const count = (signal: string, outcome: string) => {
  tally[signal] ??= {};
  tally[signal][outcome] = (tally[signal][outcome] ?? 0) + 1;
};

afterAll(() => {
  // The figures docs/RELIABILITY.md gives: how the killed requests ended.
  console.log(`crash-safety kills: ${JSON.stringify(tally)}`);
});

describe.each(Object.keys(WORK))('%s', (kind) => {
  const work = WORK[kind]!;
  let cleanMs = 0;
  let startupMs = 0;
  // A moment within the work: after the agent has started (as long as a request that does
  // nothing takes), before a clean run would have ended.
  const moment = () => startupMs + Math.random() * Math.max(0, cleanMs - startupMs);

  beforeAll(async () => {
    cleanMs = await cleanRunMs(work);
    const started = Date.now();
    await rpc({ agent: 'volume', action: 'list', data: {} }, work.config());
    startupMs = (Date.now() - started) * 0.8;
  }, BOUND_MS);

  test(`killed with SIGKILL ${KILLS} times at random moments: the next request finishes the rollback, the identical request succeeds`, async () => {
    for (let kill = 0; kill < KILLS; kill++) {
      const name = newName();
      const agent = spawnAgent(work.request(name), work.config());
      setTimeout(() => agent.kill('SIGKILL'), moment());
      const ran = await agent;
      // Killed after its reply was out (exiting), or not killed at all: it finished first.
      let finished = String(ran.stdout).includes('"statuscode":0');
      // Read before any other request runs: an entry means it was killed before its commit point.
      if (!finished && journal().length === 0 && (await work.exists(name))) {
        // Killed in the instant between its journal entry ending (the work whole, kept for
        // good) and its reply: the one window no agent can close. Nothing is half-made.
        count('SIGKILL', 'committed, reply lost');
        finished = true;
      } else count('SIGKILL', finished ? 'finished first' : 'killed, rolled back');
      if (!finished && kill % 2 === 0) {
        // Any request that starts sweeps the journal: here one that changes nothing.
        expect((await rpc({ agent: 'volume', action: 'list', data: {} }, work.config())).statuscode).toBe(0);
        const left = await work.leftovers(name);
        expect({ kill, left }).toEqual({ kill, left: [] });
      }
      if (finished) await work.remove(name);
      await identicalSucceeds(work, name);
    }
  }, KILLS * BOUND_MS);

  test(`sent SIGTERM ${KILLS} times at random moments: it undoes what it made, replies, and the identical request succeeds`, async () => {
    for (let kill = 0; kill < KILLS; kill++) {
      const name = newName();
      const agent = spawnAgent(work.request(name), work.config());
      setTimeout(() => agent.kill('SIGTERM'), moment());
      const ran = await agent;
      if (ran.signal === 'SIGTERM' || ran.exitCode === 143) {
        // Before a request was running (the agent still starting): nothing to undo, no reply.
        count('SIGTERM', 'ended before the request began');
        expect(String(ran.stdout)).toBe('');
      } else {
        const reply = JSON.parse(String(ran.stdout)) as Reply;
        if (reply.statuscode === 0) {
          count('SIGTERM', 'finished first');
          await work.remove(name);
        } else {
          count('SIGTERM', 'cancelled and rolled back');
          expect(reply).toMatchObject({ statuscode: 1, data: { error_code: 'CANCELLED' } });
          expect(reply.statusmsg).toContain('received SIGTERM');
          expect(reply.statusmsg).not.toContain('rollback');
        }
      }
      // Right after the reply, before any other request ran.
      expect({ kill, left: await work.leftovers(name) }).toEqual({ kill, left: [] });
      await identicalSucceeds(work, name);
    }
  }, KILLS * BOUND_MS);
});

/**
 * Runs the work's request with a virsh that, once a batch holding `command` has run, kills
 * `victim`: itself ('$$', the agent gets no answer) or the agent ('$PPID').
 */
async function runWithVirshKilling(kind: string, name: string, command: string, victim: '$$' | '$PPID') {
  const bin = join(box.root, `bin-${command}-${victim === '$$' ? 'virsh' : 'agent'}`);
  mkdirSync(bin, { recursive: true });
  const realVirsh = (await execa('sh', ['-c', 'command -v virsh'])).stdout.trim();
  writeFileSync(join(bin, 'virsh'), `#!/bin/sh\n${realVirsh} "$@"\nstatus=$?\ncase "$*" in *"'${command}' "*) kill -9 ${victim} ;; esac\nexit $status\n`);
  chmodSync(join(bin, 'virsh'), 0o755);
  return execa(AGENT, ['rpc'], {
    input: JSON.stringify(WORK[kind]!.request(name)),
    env: agentEnv({ HVAGENT_CONFIG: WORK[kind]!.config(), TMPDIR: temporary(), PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` }),
    extendEnv: false,
    reject: false,
  });
}

test.each([
  ['network create', 'net-define'],
  ['pool create', 'pool-define-as'],
])('%s killed right after libvirt made what it asked for (%s): its journal entry is there, and the next request undoes it', async (kind, command) => {
  // The moment a random kill reaches only sometimes: the object is made and whole in
  // libvirt, the agent dies before it could end its journal entry or reply.
  const work = WORK[kind]!;
  const name = newName();
  const ran = await runWithVirshKilling(kind, name, command, '$PPID');
  expect({ signal: ran.signal, stdout: ran.stdout }).toEqual({ signal: 'SIGKILL', stdout: '' });
  expect(journal()).toHaveLength(1);
  expect(await work.exists(name)).toBe(true);
  expect((await rpc({ agent: 'volume', action: 'list', data: {} }, work.config())).statuscode).toBe(0);
  expect(await work.leftovers(name)).toEqual([]);
  await identicalSucceeds(work, name);
}, BOUND_MS);

test('a define batch killed after libvirt defined the domain leaves no domain over removed volumes (its undo was registered first)', async () => {
  // A virsh that dies by SIGKILL right after a batch holding `define` has run: libvirt has
  // defined the domain, the agent gets no answer (as at a timeout, or a killed virsh).
  const name = newName();
  const ran = await runWithVirshKilling('image provision', name, 'define', '$$');
  const reply = JSON.parse(String(ran.stdout)) as Reply;
  expect(reply.statuscode).not.toBe(0);
  expect(reply.statusmsg).toContain('virsh');
  expect(reply.statusmsg).not.toContain('rollback could not remove');
  expect(await WORK['image provision']!.leftovers(name)).toEqual([]);
  await identicalSucceeds(WORK['image provision']!, name);
}, BOUND_MS);

test(`vm delete killed with SIGKILL ${KILLS} times at random moments: the VM stays whole, or goes with everything it owned`, async () => {
  // A deletion is finished forward, not undone: once its domain is undefined, the next
  // request removes what the VM owned (its volumes, console log), not a VM left without disks.
  const provision = WORK['image provision']!;
  const deletion = (name: string) => ({ agent: 'vm', action: 'delete', data: { name, remove_volumes: true } });
  const consoleLogs = (name: string) => filesUnder(join(box.root, 'console')).filter((file) => file.startsWith(`${name}.`)).map((file) => `console log: ${file}`);
  const gone = async (name: string) => [...(await provision.leftovers(name)), ...consoleLogs(name)];
  const clean = newName();
  expect((await rpc(provision.request(clean), box.config)).statuscode).toBe(0);
  let started = Date.now();
  expect((await rpc(deletion(clean), box.config)).statuscode).toBe(0);
  const cleanMs = Date.now() - started;
  started = Date.now();
  await rpc({ agent: 'volume', action: 'list', data: {} }, box.config);
  const startupMs = (Date.now() - started) * 0.8;
  for (let kill = 0; kill < KILLS; kill++) {
    const name = newName();
    expect((await rpc(provision.request(name), box.config)).statuscode).toBe(0);
    const agent = spawnAgent(deletion(name), box.config);
    setTimeout(() => agent.kill('SIGKILL'), startupMs + Math.random() * Math.max(0, cleanMs - startupMs));
    await agent;
    // Any request that starts sweeps the journal.
    expect((await rpc({ agent: 'volume', action: 'list', data: {} }, box.config)).statuscode).toBe(0);
    if (await vmWhole(name)) {
      count('vm delete SIGKILL', 'killed before its undefine: the VM whole');
      expect((await rpc(deletion(name), box.config)).statuscode).toBe(0);
    } else count('vm delete SIGKILL', (await domainsNamed(name)).length === 0 ? 'undefined, finished by the next request' : 'half-deleted');
    expect({ kill, left: await gone(name) }).toEqual({ kill, left: [] });
  }
}, KILLS * 2 * BOUND_MS);
