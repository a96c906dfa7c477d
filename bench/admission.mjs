#!/usr/bin/env node
// What admission control costs a create: `vm create` of a shut-off direct-kernel-boot
// guest (no volume, no NIC) through `hvagent rpc` with no limits configured, against the
// same create with limits configured that never refuse (so admission reads the host twice,
// once early and once under the host lock, and takes that lock). Both are measured
// alternately in one loop, on a libvirtd of the bench's own (test/helpers/private-libvirtd.sh)
// so that both count the same domains; each guest is undefined (outside the timing) before
// the next round.
//
//   node bench/admission.mjs [rounds]     (default 30; needs root and the test guest assets)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const agent = join(repo, 'agent/hvagent');
const script = join(repo, 'test/helpers/private-libvirtd.sh');
const assets = process.env.HVAGENT_ASSETS ?? '/var/lib/hvagent/test-assets';
const rounds = Number(process.argv[2] ?? 30);
const root = mkdtempSync('/var/lib/hvagent/bench-admission-');

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ').slice(0, 200)} exited ${result.status}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

try {
  const [qemuUri, lxcUri] = run(script, ['start', join(root, 'libvirtd')]).trim().split('\n');
  const config = (name, admission) => {
    const file = join(root, `${name}.yaml`);
    writeFileSync(file, [`libvirt: { uri: "${qemuUri}", lxc_uri: "${lxcUri}" }`, `paths: { lock_dir: ${join(root, `locks-${name}`)} }`, ...admission, ''].join('\n'));
    return file;
  };
  const configs = {
    off: config('off', []),
    on: config('on', ['admission: { memory_overcommit_ratio: 100, vcpu_ratio: 1000, max_vms: 100000, reserved_memory_mb: 0 }']),
  };
  const create = (which, round) => {
    const name = `bench-adm-${which}-${round}`;
    const data = { name, vm_class: 'qemu', kernel: join(assets, 'vmlinuz'), initrd: join(assets, 'initrd.img'), memory_mb: 64 };
    const t0 = performance.now();
    const reply = JSON.parse(run(agent, ['rpc'], { input: JSON.stringify({ agent: 'vm', action: 'create', data }), env: { PATH: process.env.PATH, HVAGENT_CONFIG: configs[which] } }));
    const elapsed = performance.now() - t0;
    if (reply.statuscode !== 0) throw new Error(`vm create: ${reply.statusmsg}`);
    run('virsh', ['-c', qemuUri, 'undefine', name]);
    return elapsed;
  };
  const times = { off: [], on: [] };
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const which of order) times[which].push(create(which, round));
  }
  const [off, on] = [median(times.off), median(times.on)];
  console.log(`vm create, no limits:  median ${off.toFixed(1)} ms (${rounds} rounds)`);
  console.log(`vm create, limits on:  median ${on.toFixed(1)} ms`);
  console.log(`admission adds ${(on - off).toFixed(1)} ms (${(on / off).toFixed(2)}x)`);
} finally {
  spawnSync(script, ['stop', join(root, 'libvirtd')]);
  rmSync(root, { recursive: true, force: true });
}
