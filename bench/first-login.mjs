#!/usr/bin/env node
// P8: wall time from `vm create` to the first successful ssh login into the new guest,
// divided by the same for virt-install (Debian's virtinst) on the same image:
//   hvagent: `hvagent rpc` vm create template=image:debian12 … ssh_authorized_keys=… start=true
//            (the clone, the SSH host keys, the NoCloud seed volume, define and start in one
//            request); its login checks the host key against the reply's known_hosts;
//   peer:    `qemu-img create -b IMAGE` for the disk, then `virt-install --import
//            --cloud-init user-data=…,meta-data=…,network-config=…` (its own seed ISO; the
//            `pc` machine, whose IDE CD-ROM Debian's cloud kernel can see: on q35 virt-install
//            puts the seed on SATA, which that kernel cannot read; docs/CLOUD-IMAGE.md), as an
//            operator uses it: no host keys given, the guest makes its own, the first login
//            trusts whatever key it is shown.
// Both: the same image, 1 GiB, 2 vCPUs, TCG (qemu64), a qcow2 overlay on virtio with the
// default cache, one virtio NIC on `default` with a known MAC, the same seed files (meta-data
// with instance-id and host name; user-data with the key; network-config matching the MAC, as
// hvagent writes it), except that hvagent's user-data also holds the SSH host keys it made on
// the host (its guest generates none; virt-install's makes its own). The clock stops at the first `ssh debian@IP true` that succeeds; the
// address is the DHCP lease of that MAC, polled every 0.5 s, ssh tried every 0.5 s once there
// is one. The two run one after the other, the order alternating per round; everything is
// removed outside the timing. The image is the test image of scripts/cloud-image.sh. Each
// side also reports its QEMU's CPU seconds at the login: wall time on this shared machine
// follows the other sessions' load, the guest's own work does not.
//
//   node bench/first-login.mjs [rounds]    (default 3; needs virtinst: apt-get install --no-install-recommends virtinst)
//   P8_LOGS=DIR keeps there, for each guest, its serial log, its running domain XML and, read
//   over ssh after the login, systemd-analyze and `cloud-init analyze` (where its time went).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const agent = join(repo, 'agent/hvagent');
const URI = 'qemu:///system';
const rounds = Number(process.argv[2] ?? 3);
const image = join(process.env.HVAGENT_ASSETS ?? '/var/lib/hvagent/test-assets', 'cloud-image', 'debian12-cloud.qcow2');
const root = `/var/lib/hvagent/first-login-bench-${process.pid}`;
const pool = join(root, 'vms');
const catalogue = join(root, 'templates');
const config = join(root, 'hvagent.yaml');
const peerDir = join(root, 'peer');
const bootDir = '/var/lib/libvirt/boot';
const LOGIN_BOUND_MS = 15 * 60_000;
const keepLogs = process.env.P8_LOGS;
const made = new Set();

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ').slice(0, 200)} exited ${result.status}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}
const quiet = (args) => spawnSync('virsh', ['-c', URI, ...args], { encoding: 'utf8' });
/** The same command without blocking the event loop (the clock runs while it does). */
const runAsync = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => (status === 0 ? resolve(stdout) : reject(new Error(`${command} exited ${status}: ${stderr}${stdout}`))));
    child.stdin.end(options.input ?? '');
  });
const now = () => performance.now();
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const macOf = () => `52:54:00:${[...randomBytes(3)].map((byte) => byte.toString(16).padStart(2, '0')).join(':')}`;

async function leaseOf(mac) {
  const out = spawnSync('virsh', ['-c', URI, 'net-dhcp-leases', 'default', '--mac', mac], { encoding: 'utf8' }).stdout ?? '';
  return /\s(\d+\.\d+\.\d+\.\d+)\/\d+\s/.exec(out.split('\n').find((line) => line.includes(mac)) ?? '')?.[1];
}

/** Any host key (trust on first use, as virt-install's caller must), unless `known` names a known_hosts file and the alias its lines use. */
const hostKeyArgs = (known) =>
  known
    ? ['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${known.file}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', `HostKeyAlias=${known.alias}`]
    : ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'];
const sshArgs = (key, ip, command, known) =>
  ['-F', '/dev/null', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', ...hostKeyArgs(known), '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', `debian@${ip}`, command];

/** ms from t0 to the lease and to the first ssh login that succeeds (verifying the host key when `known` is given). */
async function firstLogin(mac, key, t0, known) {
  let ip;
  let leaseMs;
  while (!ip) {
    if (now() - t0 > LOGIN_BOUND_MS) throw new Error(`no lease for ${mac}`);
    ip = await leaseOf(mac);
    if (!ip) await sleep(500);
  }
  leaseMs = now() - t0;
  const args = sshArgs(key, ip, 'true', known);
  for (;;) {
    if (now() - t0 > LOGIN_BOUND_MS) throw new Error(`no ssh login to ${ip}`);
    if (spawnSync('ssh', args, { stdio: 'ignore', timeout: 20_000 }).status === 0) return { leaseMs, loginMs: now() - t0, ip };
    await sleep(500);
  }
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
/**
 * CPU seconds the guest's QEMU process has used (user + system): the guest's work, which the
 * other sessions' load on this shared machine does not stretch as it stretches wall time.
 */
function guestCpuSeconds(name) {
  try {
    const pid = readFileSync(`/run/libvirt/qemu/${name}.pid`, 'utf8').trim();
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/**
 * With P8_LOGS, outside the timing: the running domain's XML, and the guest's own account
 * of its boot (systemd-analyze, cloud-init's stages), read over the login just made.
 */
function inspectGuest(name, ip, key) {
  if (!keepLogs) return;
  mkdirSync(keepLogs, { recursive: true });
  writeFileSync(join(keepLogs, `${name}.xml`), quiet(['dumpxml', name]).stdout ?? '');
  const script = 'systemd-analyze; systemd-analyze blame | head -25; systemd-analyze critical-chain; sudo cloud-init analyze show; sudo cloud-init analyze blame | head -25; lsblk; ip -br a';
  const result = spawnSync('ssh', sshArgs(key, ip, script), { encoding: 'utf8', timeout: 120_000 });
  writeFileSync(join(keepLogs, `${name}.analyze`), `${result.stdout ?? ''}${result.stderr ?? ''}`);
}

function removeGuest(name, serialLog = `/var/log/hvagent/console/${name}.log`) {
  if (keepLogs && existsSync(serialLog)) {
    mkdirSync(keepLogs, { recursive: true });
    writeFileSync(join(keepLogs, `${name}.log`), readFileSync(serialLog));
  }
  quiet(['destroy', name]);
  quiet(['undefine', name, '--managed-save', '--snapshots-metadata', '--nvram']);
  quiet(['undefine', name, '--managed-save', '--snapshots-metadata']);
  rmSync(`/var/log/hvagent/console/${name}.log`, { force: true });
  for (const file of existsSync(pool) ? readdirSync(pool) : []) if (file.startsWith(`${name}-`)) rmSync(join(pool, file), { force: true });
  // virt-install made a libvirt pool of the guest's directory (named after it): it goes too.
  if (quiet(['pool-dumpxml', name]).stdout?.includes(`<path>${join(peerDir, name)}</path>`)) {
    quiet(['pool-destroy', name]);
    quiet(['pool-undefine', name]);
  }
  rmSync(join(peerDir, name), { recursive: true, force: true });
  made.delete(name);
}

function cleanupAll() {
  for (const name of [...made]) removeGuest(name);
  rmSync(root, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (cleanupAll(), process.exit(130)));

async function viaHvagent(round, keys) {
  const name = `first-login-hv-${process.pid}-${round}`;
  made.add(name);
  const t0 = now();
  const request = { agent: 'vm', action: 'create', data: { name, vm_class: 'qemu', template: 'image:debian12', pool: 'vms', memory_mb: 1024, vcpus: 2, network: 'default', hostname: name, ssh_authorized_keys: keys.publicKey, start: true } };
  const reply = JSON.parse(await runAsync(agent, ['rpc'], { input: JSON.stringify(request), env: { PATH: process.env.PATH, HVAGENT_CONFIG: config } }));
  if (reply.statuscode !== 0) throw new Error(`vm create: ${reply.statusmsg}`);
  const createdMs = now() - t0;
  // The first login is verified: the host keys hvagent made are in the reply (no trust on first use).
  const known = { file: join(root, 'key', `${name}.known_hosts`), alias: name };
  writeFileSync(known.file, reply.data.known_hosts);
  const { ip, ...times } = await firstLogin(reply.data.nics[0].mac, keys.privateKey, t0, known);
  const cpuS = guestCpuSeconds(name);
  inspectGuest(name, ip, keys.privateKey);
  removeGuest(name);
  return { createdMs, cpuS, ...times };
}

async function viaVirtInstall(round, keys) {
  const name = `first-login-vi-${process.pid}-${round}`;
  const dir = join(peerDir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'user-data'), `#cloud-config\nssh_authorized_keys:\n  - ${keys.publicKey}\n`);
  writeFileSync(join(dir, 'meta-data'), `instance-id: iid-${name}\nlocal-hostname: ${name}\n`);
  const mac = macOf();
  // What hvagent's seed holds for one DHCP NIC (src/cloudinit/nocloud.ts): cloud-init then
  // does the same network work on both sides (match by MAC, rename, DHCP).
  writeFileSync(join(dir, 'network-config'), `version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: ${mac}\n    set-name: eth0\n    dhcp4: true\n`);
  const bootBefore = new Set(existsSync(bootDir) ? readdirSync(bootDir) : []);
  made.add(name);
  const t0 = now();
  await runAsync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image, '-F', 'qcow2', join(dir, 'disk.qcow2')]);
  await runAsync('virt-install', [
    '--connect', URI, '--name', name, '--virt-type', 'qemu', '--machine', 'pc', '--memory', '1024', '--vcpus', '2', '--osinfo', 'debian11', '--import',
    '--disk', `path=${join(dir, 'disk.qcow2')},format=qcow2,bus=virtio`,
    '--cloud-init', `user-data=${join(dir, 'user-data')},meta-data=${join(dir, 'meta-data')},network-config=${join(dir, 'network-config')}`,
    '--network', `network=default,model=virtio,mac=${mac}`, '--graphics', 'none', '--noautoconsole',
    '--serial', `pty,log.file=${join(dir, 'serial.log')}`,
  ]);
  const createdMs = now() - t0;
  const { ip, ...times } = await firstLogin(mac, keys.privateKey, t0);
  const cpuS = guestCpuSeconds(name);
  inspectGuest(name, ip, keys.privateKey);
  removeGuest(name, join(dir, 'serial.log'));
  for (const file of existsSync(bootDir) ? readdirSync(bootDir) : []) if (!bootBefore.has(file) && file.includes('cloudinit')) rmSync(join(bootDir, file), { force: true });
  return { createdMs, cpuS, ...times };
}

try {
  if (spawnSync('virt-install', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('virt-install is missing: apt-get install --no-install-recommends virtinst');
  }
  if (!existsSync(image)) throw new Error(`${image} is missing: run scripts/cloud-image.sh`);
  mkdirSync(pool, { recursive: true });
  mkdirSync(join(catalogue, 'images'), { recursive: true });
  linkSync(image, join(catalogue, 'images', 'debian12.qcow2'));
  writeFileSync(join(catalogue, 'catalogue.yaml'), 'version: 1\ntemplates:\n  - { name: debian12, type: image, description: bench, file: images/debian12.qcow2, format: qcow2 }\n');
  writeFileSync(config, `storage:\n  pools:\n    vms: { plugin: qcow2, path: ${pool} }\ntemplates:\n  catalogue: ${catalogue}\n`);
  mkdirSync(join(root, 'key'), { mode: 0o700 });
  const privateKey = join(root, 'key', 'id_ed25519');
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'p8', '-f', privateKey]);
  const keys = { privateKey, publicKey: readFileSync(`${privateKey}.pub`, 'utf8').trim() };

  const hv = [];
  const vi = [];
  for (let round = 0; round < rounds; round += 1) {
    const loadBefore = loadavg()[0];
    // The order alternates, so that neither side always runs on the other's warm caches.
    if (round % 2 === 0) {
      hv.push(await viaHvagent(round, keys));
      vi.push(await viaVirtInstall(round, keys));
    } else {
      vi.push(await viaVirtInstall(round, keys));
      hv.push(await viaHvagent(round, keys));
    }
    const [h, v] = [hv.at(-1), vi.at(-1)];
    console.log(`  round ${round}: hvagent ${(h.loginMs / 1000).toFixed(1)} s (reply ${(h.createdMs / 1000).toFixed(1)}, lease ${(h.leaseMs / 1000).toFixed(1)}, guest CPU ${h.cpuS.toFixed(1)}), virt-install ${(v.loginMs / 1000).toFixed(1)} s (returned ${(v.createdMs / 1000).toFixed(1)}, lease ${(v.leaseMs / 1000).toFixed(1)}, guest CPU ${v.cpuS.toFixed(1)}), ratio ${(h.loginMs / v.loginMs).toFixed(2)}, load ${loadBefore.toFixed(1)} → ${loadavg()[0].toFixed(1)}`);
  }
  const pairs = hv.map((r, i) => (r.loginMs / vi[i].loginMs).toFixed(2)).join(', ');
  const s = (values) => `${(median(values) / 1000).toFixed(1)} s`;
  console.log(`P8 vm create to first ssh login, Debian 12 cloud image under TCG, ${rounds} alternated rounds`);
  console.log(`  hvagent vm create       : median ${s(hv.map((r) => r.loginMs))} (reply ${s(hv.map((r) => r.createdMs))}, lease ${s(hv.map((r) => r.leaseMs))})`);
  console.log(`  qemu-img + virt-install : median ${s(vi.map((r) => r.loginMs))} (returned ${s(vi.map((r) => r.createdMs))}, lease ${s(vi.map((r) => r.leaseMs))})`);
  console.log(`  guest CPU at the login   : hvagent median ${median(hv.map((r) => r.cpuS)).toFixed(1)} s, virt-install ${median(vi.map((r) => r.cpuS)).toFixed(1)} s`);
  console.log(`  ratio                   : median ${median(hv.map((r, i) => r.loginMs / vi[i].loginMs)).toFixed(2)}x (goal <= 1.0x); pairs ${pairs}`);
} finally {
  cleanupAll();
}
