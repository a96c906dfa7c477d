import { cleanupNetworks, createNetwork, leases, type TestNetwork } from '../network/helpers.js';
import { cleanup, CMDLINE, createGuest, newVmName, READY, requireGuestAssets, vm, waitFor, waitForSerial } from './helpers.js';

// `vm list details=true` (the rows of mco hvagent list): each VM's class, and the IPv4
// address libvirt's dnsmasq leased to a running guest, checked against net-dhcp-leases;
// a shut-off VM has none.

let nat: TestNetwork;
const running = newVmName();
const off = newVmName();

beforeAll(async () => {
  requireGuestAssets();
  nat = await createNetwork('nat');
  await createGuest(running, { network: nat.name, cmdline: `${CMDLINE} guest_netwatch`, start: true });
  await createGuest(off, { network: nat.name });
  await waitForSerial(running, READY);
});

afterAll(async () => {
  await cleanup();
  await cleanupNetworks();
});

type Row = { name: string; state: string; vm_class?: string; ipv4?: string[] };

test('details=true: the class of each VM, and the leased address of the running one', async () => {
  const mac = (await vm('info', { name: running })).data.nics as Array<{ mac: string }>;
  const ip = await waitFor(async () => (await leases(nat.name)).get(mac[0]!.mac), `a lease for ${running}`, 180_000);
  const reply = await vm('list', { details: true });
  expect(reply.statuscode).toBe(0);
  const rows = (reply.data.vms as Row[]).filter((row) => row.name === running || row.name === off);
  expect(rows).toEqual(
    [
      { name: running, driver: 'qemu', state: 'running', vcpus: 1, memory_mb: 192, vm_class: 'qemu', ipv4: [ip] },
      { name: off, driver: 'qemu', state: 'shutoff', vcpus: 1, memory_mb: 192, vm_class: 'qemu', ipv4: [] },
    ].sort((a, b) => a.name.localeCompare(b.name)),
  );
  // Without detail, rows stay as cheap as before: a QEMU domain's class unread (null), no addresses.
  const plain = ((await vm('list', {})).data.vms as Row[]).find((row) => row.name === running);
  expect(plain).toEqual({ name: running, driver: 'qemu', state: 'running', vcpus: 1, memory_mb: 192, vm_class: null });
});
