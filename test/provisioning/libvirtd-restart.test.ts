// libvirtd crashing and restarting in the middle of a provision leaves nothing half-made
// (docs/RELIABILITY.md, "Crash safety"): the request fails with a clear error, undoes what
// it can (its volumes), and what needs libvirtd (the domain it may have defined) stays in
// the intent journal until the next request, which finishes it once libvirtd is back. The
// identical request then succeeds. On a libvirtd of the test's own
// (test/helpers/private-libvirtd.sh): the shared one is never restarted.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { AGENT, agentEnv, type Reply } from '../helpers/agent.js';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../helpers/private-libvirtd.js';
import { buildTestTemplates, makeSandbox, type Sandbox } from './helpers.js';

const RESTARTS = Number(process.env.HVAGENT_CRASH_RESTARTS ?? 6);
const BOUND_MS = 120_000;

let box: Sandbox;
let libvirtd: PrivateLibvirtd;
let locks: string;

beforeAll(async () => {
  await buildTestTemplates();
  box = makeSandbox();
  libvirtd = await startPrivateLibvirtd('crash-safety');
  locks = join(box.root, 'locks');
  writeFileSync(
    box.config,
    `${readFileSync(box.config, 'utf8')}libvirt:\n  uri: ${libvirtd.qemuUri}\n  lxc_uri: ${libvirtd.lxcUri}\npaths:\n  lock_dir: ${locks}\n  jobs_dir: ${join(box.root, 'jobs')}\n`,
  );
}, BOUND_MS);

afterAll(async () => {
  await libvirtd?.stop();
  await box?.remove();
});

const request = (name: string) => ({
  agent: 'vm',
  action: 'create',
  data: { name, vm_class: 'qemu', template: 'image:tiny', pool: 'flat', data_disks: 'vms:16', memory_mb: 128, autostart: true },
});

async function rpc(body: object): Promise<Reply> {
  const ran = await execa(AGENT, ['rpc'], { input: JSON.stringify(body), env: agentEnv({ HVAGENT_CONFIG: box.config }), extendEnv: false, reject: false, timeout: BOUND_MS });
  return JSON.parse(String(ran.stdout)) as Reply;
}

async function domains(): Promise<string[]> {
  const listed = await execa('virsh', ['-c', libvirtd.qemuUri, 'list', '--all', '--name']);
  return String(listed.stdout).split('\n').filter(Boolean);
}

const journal = () => (existsSync(join(locks, 'intents')) ? readdirSync(join(locks, 'intents')) : []);

test(`libvirtd killed and restarted mid-provision ${RESTARTS} times: a clear error, then nothing half-made and the identical request succeeds`, async () => {
  // How long a clean provision takes on this libvirtd: the restarts are drawn within it.
  const first = `lr-${randomBytes(4).toString('hex')}`;
  const started = Date.now();
  expect(await rpc(request(first))).toMatchObject({ statuscode: 0 });
  const cleanMs = Date.now() - started;
  expect(await rpc({ agent: 'vm', action: 'delete', data: { name: first, remove_volumes: true } })).toMatchObject({ statuscode: 0 });

  const outcomes: Record<string, number> = {};
  for (let restart = 0; restart < RESTARTS; restart++) {
    const name = `lr-${randomBytes(4).toString('hex')}`;
    const replying = rpc(request(name));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * cleanMs));
    await libvirtd.restart();
    const reply = await replying;
    const outcome = reply.statuscode === 0 ? 'finished' : String(reply.data.error_code);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (reply.statuscode === 0) {
      expect(await rpc({ agent: 'vm', action: 'delete', data: { name, remove_volumes: true } })).toMatchObject({ statuscode: 0 });
    } else {
      // A typed error that names libvirt, never an internal one.
      expect({ restart, code: reply.data.error_code }).not.toEqual({ restart, code: 'INTERNAL' });
      // Volumes need no libvirtd: they are gone at once. Only what needed libvirtd while it
      // was away may wait in the journal, and then the reply says so.
      expect({ restart, files: box.leftovers() }).toEqual({ restart, files: [] });
      if (!reply.statusmsg.includes('rollback could not remove')) expect({ restart, journal: journal() }).toEqual({ restart, journal: [] });
      else outcomes['left to the next request'] = (outcomes['left to the next request'] ?? 0) + 1;
    }
    // The identical request finishes what is left (a domain undo that needed libvirtd), then succeeds.
    const again = await rpc(request(name));
    expect({ restart, statuscode: again.statuscode, statusmsg: again.statusmsg }).toEqual({ restart, statuscode: 0, statusmsg: 'OK' });
    expect(await rpc({ agent: 'vm', action: 'delete', data: { name, remove_volumes: true } })).toMatchObject({ statuscode: 0 });
    expect({ restart, domains: await domains(), files: box.leftovers(), journal: journal() }).toEqual({ restart, domains: [], files: [], journal: [] });
  }
  console.log(`crash-safety libvirtd restarts: ${JSON.stringify(outcomes)}`);
}, RESTARTS * BOUND_MS);
