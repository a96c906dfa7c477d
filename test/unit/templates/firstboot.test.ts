import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { HvError } from '../../../src/core/errors.js';
import { checkFirstBoot, firstBootJson, firstBootShell, type FirstBoot } from '../../../src/templates/firstboot.js';

const HOSTILE = `it's $(touch /tmp/t-pwned) \`id\` "x" \\ ; | & > $HOME 'quoted'`;

const firstBoot: FirstBoot = {
  name: 'web01',
  nics: [{ mac: '52:54:00:12:34:56', network: 'default' }, { mac: '52:54:00:ab:cd:ef', bridge: 'br0' }],
  metadata: { role: HOSTILE, owner: 'ops team', empty: '' },
};

describe('first-boot file', () => {
  test('the shell twin: what `.` reads back is exactly what was given, nothing runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 't-firstboot-'));
    const file = join(dir, 'firstboot.conf');
    writeFileSync(file, firstBootShell(firstBoot));
    const keys = ['HVAGENT_FIRSTBOOT_VERSION', 'HVAGENT_NAME', 'HVAGENT_NIC_COUNT', 'HVAGENT_NIC0_MAC', 'HVAGENT_NIC0_NETWORK', 'HVAGENT_NIC0_BRIDGE',
      'HVAGENT_NIC1_MAC', 'HVAGENT_NIC1_NETWORK', 'HVAGENT_NIC1_BRIDGE', 'HVAGENT_META_ROLE', 'HVAGENT_META_OWNER', 'HVAGENT_META_EMPTY'];
    const script = `set -eu; . "$1"; for k in ${keys.join(' ')}; do eval "printf '%s\\0' \\"\\$$k\\""; done`;
    const ran = await execa('sh', ['-c', script, 'sh', file], { env: { HOME: '/nonexistent' } });
    expect(ran.stdout.split('\0').slice(0, -1)).toEqual(['1', 'web01', '2', '52:54:00:12:34:56', 'default', '', '52:54:00:ab:cd:ef', '', 'br0', HOSTILE, 'ops team', '']);
    expect(ran.stderr).toBe('');
    rmSync(dir, { recursive: true, force: true });
  });

  test('the JSON twin carries the same', () => {
    expect(JSON.parse(firstBootJson(firstBoot))).toEqual({
      version: 1,
      name: 'web01',
      nics: [{ mac: '52:54:00:12:34:56', network: 'default', bridge: null }, { mac: '52:54:00:ab:cd:ef', network: null, bridge: 'br0' }],
      metadata: { role: HOSTILE, owner: 'ops team', empty: '' },
    });
  });

  test.each<[string, FirstBoot]>([
    ['name', { name: '../x', nics: [] }],
    ['mac', { name: 'a', nics: [{ mac: '52:54:00:12:34' }] }],
    ['network', { name: 'a', nics: [{ mac: '52:54:00:12:34:56', network: 'x y' }] }],
    ['metadata key', { name: 'a', nics: [], metadata: { 'Role=1': 'x' } }],
    ['metadata value', { name: 'a', nics: [], metadata: { role: 'two\nlines' } }],
  ])('a bad %s is INPUT_INVALID', (_what, value) => {
    expect(() => checkFirstBoot(value)).toThrow(HvError);
    try {
      checkFirstBoot(value);
    } catch (error) {
      expect((error as HvError).code).toBe('INPUT_INVALID');
    }
  });
});
