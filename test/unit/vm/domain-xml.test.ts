import { VM_CLASSES } from '../../../src/model/vm-classes.js';
import { parseDomainXml } from '../../../src/libvirt/parse/domain.js';
import { HV_NAMESPACE } from '../../../src/libvirt/metadata.js';
import { buildDomainXml, type DomainSpec } from '../../../src/vm/domain-xml.js';

function spec(overrides: Partial<DomainSpec> = {}): DomainSpec {
  return {
    name: 'web01',
    vmClass: VM_CLASSES.qemu,
    memoryMb: 192,
    maxMemoryMb: 256,
    vcpus: 1,
    maxVcpus: 2,
    kernel: { path: '/var/lib/hvagent/k', initrd: '/var/lib/hvagent/i', cmdline: `console=ttyS0 x="a'<b>&c"` },
    disks: [],
    nics: [{ source: { network: 'default' } }],
    consoleLog: '/var/log/hvagent/console/web01.log',
    metadata: { vm_class: 'qemu', created_at: '2026-11-21T00:00:00.000Z', created_by: 'uid=0', request_id: '</hv:vm><evil/>' },
    ...overrides,
  };
}

describe('domain XML', () => {
  test('every user value is escaped and survives the round trip', () => {
    const xml = buildDomainXml(spec());
    expect(xml).not.toContain('<evil/>');
    expect(xml).toContain('x=&quot;a&apos;&lt;b&gt;&amp;c&quot;');
    const parsed = parseDomainXml(xml);
    expect(parsed.metadata).toEqual({ vm_class: 'qemu', created_at: '2026-11-21T00:00:00.000Z', created_by: 'uid=0', request_id: '</hv:vm><evil/>' });
    expect(parsed).toMatchObject({ name: 'web01', vm_class: 'qemu', vcpus: 1, max_vcpus: 2, memory_mb: 192, max_memory_mb: 256 });
    expect(parsed.console_log).toBe('/var/log/hvagent/console/web01.log');
    expect(parsed.nics).toEqual([{ mac: null, network: 'default', bridge: null, model: 'virtio', filter: null }]);
  });

  test('a QEMU guest gets q35 with 6 spare PCIe root ports for hotplug, ACPI and a logged serial console', () => {
    const xml = buildDomainXml(spec());
    expect(xml).toContain('<domain type="qemu">');
    // Its devices take 5 (NIC, virtio-serial, balloon, RNG, USB); a seed's virtio-scsi and each disk one more.
    expect(xml.match(/model="pcie-root-port"/g)).toHaveLength(6 + 5);
    const withSeed = buildDomainXml(spec({ disks: [{ type: 'file', path: '/d', format: 'qcow2' }], cdroms: [{ path: '/s' }] }));
    expect(withSeed.match(/model="pcie-root-port"/g)).toHaveLength(6 + 7);
    expect(xml).toMatch(/<rng model="virtio">\s*<backend model="random">\/dev\/urandom<\/backend>/);
    expect(xml).toContain('<acpi');
    expect(xml).toContain('append="on"');
  });

  test('a disk boot has no kernel and boots from the disk', () => {
    const parsed = parseDomainXml(buildDomainXml(spec({ kernel: undefined, disks: [{ type: 'file', path: '/var/lib/hvagent/d.qcow2', format: 'qcow2' }] })));
    expect(parsed.disks).toEqual([{ target: 'vda', source: '/var/lib/hvagent/d.qcow2', format: 'qcow2', device: 'disk' }]);
  });

  test('disks are attached in order as vda, vdb…; LVM volumes as block devices; NICs keep a given MAC', () => {
    const parsed = parseDomainXml(
      buildDomainXml(
        spec({
          kernel: undefined,
          disks: [
            { type: 'file', path: '/var/lib/hvagent/root.qcow2', format: 'qcow2' },
            { type: 'block', path: '/dev/vg0/web01-data', format: 'raw' },
          ],
          nics: [{ source: { network: 'default' }, mac: '52:54:00:aa:bb:cc', filter: { name: 'clean-traffic', parameters: { CTRL_IP_LEARNING: 'dhcp' } } }, { source: { bridge: 'br0' } }],
        }),
      ),
    );
    expect(parsed.disks).toEqual([
      { target: 'vda', source: '/var/lib/hvagent/root.qcow2', format: 'qcow2', device: 'disk' },
      { target: 'vdb', source: '/dev/vg0/web01-data', format: 'raw', device: 'disk' },
    ]);
    expect(parsed.nics).toEqual([
      { mac: '52:54:00:aa:bb:cc', network: 'default', bridge: null, model: 'virtio', filter: 'clean-traffic' },
      { mac: null, network: null, bridge: 'br0', model: 'virtio', filter: null },
    ]);
  });

  test('a network boot tries PXE first, then the disk; no disk or NIC means no empty elements', () => {
    const xml = buildDomainXml(spec({ kernel: undefined, networkBoot: true, nics: [] }));
    expect(xml).toMatch(/<boot dev="network"[^>]*\/>\s*<boot dev="hd"/);
    expect(xml).not.toContain('<disk');
    expect(xml).not.toContain('<interface');
  });

  test('a container mounts its root directory and runs /sbin/init', () => {
    const xml = buildDomainXml(spec({ vmClass: VM_CLASSES.lxc, kernel: undefined, consoleLog: undefined, rootfs: '/var/lib/hvagent/ct', metadata: { vm_class: 'lxc', created_at: 'now' } }));
    expect(xml).toContain('<domain type="lxc">');
    expect(xml).toContain('<init>/sbin/init</init>');
    expect(parseDomainXml(xml).filesystems).toEqual([{ source: '/var/lib/hvagent/ct', target: '/' }]);
  });

  test('metadata is found whatever prefix its namespace got, and foreign metadata is ignored', () => {
    const xml = `<domain type='kvm'><name>x</name><metadata><other:x xmlns:other="urn:other"><other:vm_class>lxc</other:vm_class></other:x><h:vm xmlns:h="${HV_NAMESPACE}"><h:template>image:debian12</h:template></h:vm></metadata><memory>1048576</memory><vcpu>2</vcpu></domain>`;
    const parsed = parseDomainXml(xml);
    expect(parsed.metadata).toEqual({ template: 'image:debian12' });
    expect(parsed.vm_class).toBe('kvm');
    expect(parsed.max_memory_mb).toBe(1024);
    expect(parsed.vcpus).toBe(2);
  });
});

describe('editing a defined domain', () => {
  test('withVcpus changes only <vcpu>, keeping everything else (metadata included)', async () => {
    const { withVcpus } = await import('../../../src/vm/domain-edit.js');
    const original = buildDomainXml(spec({ vmClass: VM_CLASSES.lxc, kernel: undefined, consoleLog: undefined, rootfs: '/var/lib/hvagent/ct' }));
    const edited = parseDomainXml(withVcpus(original, 3));
    const before = parseDomainXml(original);
    expect(edited.vcpus).toBe(3);
    expect(edited.max_vcpus).toBe(3);
    expect({ ...edited, vcpus: before.vcpus, max_vcpus: before.max_vcpus }).toEqual(before);
  });
});

describe('CD-ROMs', () => {
  test('go read-only on one virtio-scsi controller after the virtio disks, an empty drive with no source', () => {
    const xml = buildDomainXml(spec({ kernel: undefined, disks: [{ type: 'file', path: '/var/lib/hvagent/volumes/a', format: 'qcow2' }], cdroms: [{ path: '/var/lib/hvagent/seed.iso' }, { path: null }] }));
    expect(xml.match(/model="virtio-scsi"/g)).toHaveLength(1);
    const parsed = parseDomainXml(xml);
    expect(parsed.disks).toEqual([
      { target: 'vda', source: '/var/lib/hvagent/volumes/a', format: 'qcow2', device: 'disk' },
      { target: 'sda', source: '/var/lib/hvagent/seed.iso', format: 'raw', device: 'cdrom' },
      { target: 'sdb', source: null, format: 'raw', device: 'cdrom' },
    ]);
    expect(xml.match(/<readonly\s*\/>|<readonly><\/readonly>/g)).toHaveLength(2);
    expect(xml).toContain('bus="scsi"');
    expect(xml).not.toContain('bus="sata"');
  });

  test('an installer boots from the CD-ROM first, then the disk; without CD-ROMs there is no SCSI controller', () => {
    expect(buildDomainXml(spec({ kernel: undefined, cdroms: [{ path: '/x.iso' }], cdromBoot: true }))).toMatch(/<boot dev="cdrom"\s*\/>\s*<boot dev="hd"\s*\/>/);
    expect(buildDomainXml(spec())).not.toContain('virtio-scsi');
  });
});

describe('a cloud-init seed and the guest agent', () => {
  test('a seed volume of a qcow2 pool is a qcow2 CD-ROM; of an LVM pool a block CD-ROM', () => {
    const parsed = parseDomainXml(
      buildDomainXml(
        spec({
          kernel: undefined,
          cdroms: [
            { path: '/var/lib/hvagent/volumes/web01-cidata', format: 'qcow2' },
            { path: '/dev/vg0/web02-cidata', type: 'block', format: 'raw' },
          ],
        }),
      ),
    );
    expect(parsed.disks).toEqual([
      { target: 'sda', source: '/var/lib/hvagent/volumes/web01-cidata', format: 'qcow2', device: 'cdrom' },
      { target: 'sdb', source: '/dev/vg0/web02-cidata', format: 'raw', device: 'cdrom' },
    ]);
  });

  test("a QEMU guest has qemu-guest-agent's virtio channel; a container has none", async () => {
    const { channelState } = await import('../../../src/libvirt/parse/domain.js');
    const qemu = buildDomainXml(spec());
    expect(qemu).toMatch(/<channel type="unix">\s*<target type="virtio" name="org\.qemu\.guest_agent\.0"/);
    expect(channelState(qemu, 'org.qemu.guest_agent.0')).toBe('disconnected');
    const lxc = buildDomainXml(spec({ vmClass: VM_CLASSES.lxc, kernel: undefined, consoleLog: undefined, rootfs: '/var/lib/hvagent/ct' }));
    expect(channelState(lxc, 'org.qemu.guest_agent.0')).toBeNull();
    // Without it (qemu:///embed), one PCIe root port fewer: the 6 spare stay spare.
    const embedded = buildDomainXml(spec({ guestAgent: false }));
    expect(channelState(embedded, 'org.qemu.guest_agent.0')).toBeNull();
    expect(embedded.match(/model="pcie-root-port"/g)).toHaveLength(6 + 4);
  });
});
