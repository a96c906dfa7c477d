// A second hypervisor host on this machine: a libvirtd in its own network namespace
// (scripts/libvirt-setup.sh host2), reached at qemu+tcp://10.99.0.2/system over a veth
// pair. Host2 shares the filesystem except libvirt's own directories: its
// /var/lib/libvirt is HOST2_VARLIB here, so /var/lib/libvirt/images differs per host.
// Host1's libvirtd listens on no TCP port (other tests share it), so the way back goes
// through a proxy this test process runs on 10.99.0.1 only, to host1's UNIX socket.
import { existsSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO } from '../helpers/agent.js';
import { domstate } from '../vm/helpers.js';

export const HOST2_URI = 'qemu+tcp://10.99.0.2/system';
export const HOST2_NETNS = '/run/netns/hvagent-host2';
export const HOST2_VARLIB = join(process.env.HVAGENT_HOST2 ?? '/var/lib/hvagent/host2', 'varlib');
const HOST1_SOCKET = '/run/libvirt/libvirt-sock';

export type Host2 = { ok: true } | { ok: false; why: string };

/** Whether host2 answers; probed only through its own veth, never off the machine. */
async function answers(): Promise<boolean> {
  if (!existsSync(HOST2_NETNS)) return false;
  if ((await execa('ip', ['link', 'show', 'hv-veth1'], { reject: false })).exitCode !== 0) return false;
  return (await execa('virsh', ['-c', HOST2_URI, 'uri'], { reject: false, timeout: 20_000 })).exitCode === 0;
}

/** Starts host2 when it does not answer (idempotent); says why when it cannot run here. */
export async function ensureHost2(): Promise<Host2> {
  if (await answers()) return { ok: true };
  const ran = await execa(join(REPO, 'scripts', 'libvirt-setup.sh'), ['host2'], { reject: false, all: true, timeout: 300_000 });
  if (ran.exitCode !== 0) return { ok: false, why: `scripts/libvirt-setup.sh host2 failed (${ran.exitCode}): ${String(ran.all).trim()}` };
  return (await answers()) ? { ok: true } : { ok: false, why: `host2 set up but ${HOST2_URI} does not answer` };
}

/** Host1's libvirtd as host2 can reach it: qemu+tcp://10.99.0.1:PORT/system, until close(). */
export async function host1Proxy(): Promise<{ uri: string; close: () => Promise<void> }> {
  const server: Server = createServer((client) => {
    const upstream = connect(HOST1_SOCKET);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '10.99.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `qemu+tcp://10.99.0.1:${port}/system`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Destroys and undefines a domain on host2 when it is there. */
export async function removeFromHost2(name: string): Promise<void> {
  if ((await domstate(name, HOST2_URI).catch(() => 'absent')) === 'absent') return;
  await execa('virsh', ['-c', HOST2_URI, 'destroy', name], { reject: false });
  await execa('virsh', ['-c', HOST2_URI, 'undefine', name], { reject: false });
}
