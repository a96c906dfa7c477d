#!/usr/bin/env node
// P5: wall time of one-request provisioning — `vm create template=image:tiny pool=… start=true`
// through `hvagent rpc` (a qcow2 thin clone of the image template, a NIC-less q35 guest
// defined and started) — divided by the wall time of the raw sequence an operator would
// type for the same result: `qemu-img create -f qcow2 -b BASE -F qcow2 VOL` then
// `virsh define XML` then `virsh start NAME`. Both are measured alternately in one loop so
// machine noise hits both alike; each guest is destroyed and removed (outside the timing)
// before the next round. The raw sequence gets the same domain XML hvagent would write
// (taken from the first hvagent guest), so both start the same machine.
//
//   node bench/provision.mjs [rounds]     (default 15; needs scripts/test-templates.sh)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const agent = join(repo, 'agent/hvagent');
const URI = 'qemu:///system';
const rounds = Number(process.argv[2] ?? 15);
const catalogue = process.env.HVAGENT_TEST_TEMPLATES ?? '/var/lib/hvagent/test-templates';
const root = `/var/lib/hvagent/t-bench-p5-${process.pid}`;
const poolDir = join(root, 'vms');
const config = join(root, 'hvagent.yaml');
const made = new Set();

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ').slice(0, 200)} exited ${result.status}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}
const virsh = (args) => run('virsh', ['-c', URI, ...args]);
const quiet = (args) => spawnSync('virsh', ['-c', URI, ...args], { encoding: 'utf8' });
const now = () => performance.now();
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function hvagent(action, data) {
  const reply = JSON.parse(run(agent, ['rpc'], { input: JSON.stringify({ agent: 'vm', action, data }), env: { PATH: process.env.PATH, HVAGENT_CONFIG: config } }));
  if (reply.statuscode !== 0) throw new Error(`vm ${action}: ${reply.statusmsg}`);
  return reply;
}

function removeGuest(name, volume) {
  quiet(['destroy', name]);
  quiet(['undefine', name, '--managed-save', '--snapshots-metadata']);
  rmSync(volume, { force: true });
  rmSync(`/var/log/hvagent/console/${name}.log`, { force: true });
  made.delete(name);
}

function cleanupAll() {
  for (const name of [...made]) removeGuest(name, join(poolDir, `${name}-root`));
  rmSync(root, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (cleanupAll(), process.exit(130)));

try {
  mkdirSync(poolDir, { recursive: true });
  writeFileSync(config, `storage:\n  pools:\n    vms: { plugin: qcow2, path: ${poolDir} }\ntemplates:\n  catalogue: ${catalogue}\n`);
  const base = JSON.parse(run(agent, ['rpc'], { input: JSON.stringify({ agent: 'template', action: 'info', data: { ref: 'image:tiny' } }), env: { PATH: process.env.PATH, HVAGENT_CONFIG: config } })).data.files.path;

  let templateXml;
  let templateName;
  const agentMs = [];
  const rawMs = [];
  const viaAgent = (round) => {
    const name = `p5-hv-${process.pid}-${round}`;
    made.add(name);
    const t0 = now();
    const reply = hvagent('create', { name, vm_class: 'qemu', template: 'image:tiny', pool: 'vms', memory_mb: 128, start: true });
    const elapsed = now() - t0;
    if (!templateXml) {
      templateXml = virsh(['dumpxml', '--inactive', name]).replace(/<uuid>[^<]*<\/uuid>\n?/, '');
      templateName = name;
    }
    removeGuest(name, reply.data.volumes[0].path);
    return elapsed;
  };
  const viaRaw = (round) => {
    const raw = `p5-raw-${process.pid}-${round}`;
    const rawVolume = join(poolDir, `${raw}-root`);
    const xmlFile = join(root, `${raw}.xml`);
    writeFileSync(xmlFile, templateXml.replaceAll(templateName, raw));
    made.add(raw);
    const t0 = now();
    run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', rawVolume]);
    virsh(['define', xmlFile]);
    virsh(['start', raw]);
    const elapsed = now() - t0;
    removeGuest(raw, rawVolume);
    return elapsed;
  };
  for (let round = 0; round <= rounds; round += 1) {
    // Round 0 warms caches and provides the XML the raw sequence defines; it is not counted.
    // Then the order alternates, so that neither side always runs on the other's warm caches.
    const [agentTime, rawTime] = round % 2 === 0 ? [viaAgent(round), viaRaw(round)] : (([raw, agent]) => [agent, raw])([viaRaw(round), viaAgent(round)]);
    if (round > 0) {
      agentMs.push(agentTime);
      rawMs.push(rawTime);
    }
  }
  const ratios = agentMs.map((ms, i) => ms / rawMs[i]);
  console.log(`P5 provision+start of a qcow2 guest from image:tiny, ${rounds} alternated rounds`);
  console.log(`  hvagent vm create : median ${median(agentMs).toFixed(0)} ms (min ${Math.min(...agentMs).toFixed(0)})`);
  console.log(`  qemu-img + virsh  : median ${median(rawMs).toFixed(0)} ms (min ${Math.min(...rawMs).toFixed(0)})`);
  console.log(`  ratio             : median ${median(ratios).toFixed(2)}x (goal <= 1.2x)`);
} finally {
  cleanupAll();
}
