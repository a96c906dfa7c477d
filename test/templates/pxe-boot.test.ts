// pxe:tiny really boots over the network: a t- network defined from the template (its
// dnsmasq answers DHCP with pxelinux.0 and serves the TFTP tree), a TCG guest (q35, virtio
// NIC, iPXE option ROM) defined directly with virsh that boots from it, and GUEST: READY
// on its serial console.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { XMLBuilder } from 'fast-xml-parser';
import { HvError } from '../../src/core/errors.js';
import { findTemplate } from '../../src/templates/catalogue.js';
import { definePxeNetwork } from '../../src/templates/pxe-network.js';
import type { PxeTemplate } from '../../src/templates/types.js';
import { cleanup, newVmName, QEMU_URI, READY, requireGuestAssets, serialCount, serialLogPath, virsh, waitFor } from '../vm/helpers.js';
import { cleanupScratch, configFor, scratchDirectory, testCatalogue, token } from './helpers.js';

const networks: string[] = [];
let catalogue: string;
beforeAll(async () => {
  requireGuestAssets();
  catalogue = await testCatalogue();
});
afterAll(async () => {
  await cleanup();
  for (const network of networks) {
    await execa('virsh', ['-c', QEMU_URI, 'net-destroy', network], { reject: false });
    await execa('virsh', ['-c', QEMU_URI, 'net-undefine', network], { reject: false });
  }
  cleanupScratch();
});

/** Defines and starts the template's network as t-pxe-…, on a /24 no other network of the host uses. */
async function pxeNetwork(template: PxeTemplate): Promise<string> {
  const name = `t-pxe-${token()}`;
  networks.push(name);
  const config = configFor(catalogue);
  for (let attempt = 0; ; attempt += 1) {
    const address = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}.1/24`;
    try {
      expect(await definePxeNetwork(config, template, { name, address })).toEqual({ name, changed: true });
      return name;
    } catch (error) {
      // libvirt refuses a subnet already routed on this host: try another one.
      if (attempt >= 5 || !/already in use/i.test(String(error))) throw error;
      await execa('virsh', ['-c', QEMU_URI, 'net-undefine', name], { reject: false });
    }
  }
}

function pxeGuestXml(name: string, network: string): string {
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true });
  return builder.build({
    domain: {
      '@_type': 'qemu',
      name,
      memory: { '@_unit': 'MiB', '#text': 256 },
      vcpu: 1,
      os: { type: { '@_arch': 'x86_64', '@_machine': 'q35', '#text': 'hvm' }, boot: { '@_dev': 'network' } },
      devices: {
        interface: { '@_type': 'network', source: { '@_network': network }, model: { '@_type': 'virtio' } },
        serial: { '@_type': 'file', source: { '@_path': serialLogPath(name) }, target: { '@_port': 0 } },
      },
    },
  }) as string;
}

test('pxe:tiny: a guest boots PXELINUX, the kernel and initramfs over TFTP, to GUEST: READY', async () => {
  const template = (await findTemplate(configFor(catalogue), 'pxe:tiny')) as PxeTemplate;
  const network = await pxeNetwork(template);
  const served = await virsh(QEMU_URI, ['net-dumpxml', network]);
  expect(served).toContain(`<tftp root='${template.tftpRoot}'/>`);
  expect(served).toContain("<bootp file='pxelinux.0'/>");
  // Defining it again changes nothing; another tree under that name is a conflict.
  expect(await definePxeNetwork(configFor(catalogue), template, { name: network })).toEqual({ name: network, changed: false });
  const other = { ...template, tftpRoot: scratchDirectory('tftp') };
  await expect(definePxeNetwork(configFor(catalogue), other, { name: network })).rejects.toThrow(HvError);

  const name = newVmName();
  const file = join(scratchDirectory('domain'), 'domain.xml');
  writeFileSync(file, pxeGuestXml(name, network));
  await virsh(QEMU_URI, ['define', file]);
  await virsh(QEMU_URI, ['start', name]);
  // TFTP in a TCG guest takes a while on a loaded host: bounded generously, on the real signal.
  await waitFor(() => serialCount(name, READY) >= 1 || undefined, `${READY} from the PXE-booted ${name}`, 6 * 60_000);
}, 8 * 60_000);
