import { normalizeMac, stableMac } from '../../../src/network/mac.js';
import { assertBridgeName, assertNetworkName } from '../../../src/network/names.js';

describe('MAC addresses', () => {
  test('syntax: six hex pairs, unicast, not all zero; lowercased', () => {
    expect(normalizeMac('52:54:00:AB:cd:EF')).toBe('52:54:00:ab:cd:ef');
    for (const bad of ['52:54:00:ab:cd', '52-54-00-ab-cd-ef', '52:54:00:ab:cd:eg', '00:00:00:00:00:00', '01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '']) {
      expect(() => normalizeMac(bad)).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    }
  });

  test('stable: same host, VM and slot give the same MAC, in the 52:54:00 prefix; others differ', () => {
    const none = new Set<string>();
    const mac = stableMac('web01', 0, none, 'hv1');
    expect(mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(stableMac('web01', 0, none, 'hv1')).toBe(mac);
    expect(normalizeMac(mac)).toBe(mac);
    expect(new Set([mac, stableMac('web01', 1, none, 'hv1'), stableMac('web02', 0, none, 'hv1'), stableMac('web01', 0, none, 'hv2')]).size).toBe(4);
  });

  test('a taken candidate moves to the next one, deterministically', () => {
    const first = stableMac('web01', 0, new Set(), 'hv1');
    const taken = new Map([[first, 'other-vm']]);
    const second = stableMac('web01', 0, taken, 'hv1');
    expect(second).not.toBe(first);
    expect(stableMac('web01', 0, taken, 'hv1')).toBe(second);
    expect(stableMac('web01', 0, new Set([first, second]), 'hv1')).not.toMatch(new RegExp(`^(${first}|${second})$`));
  });
});

describe('names', () => {
  test('network and bridge names: conservative alphabet, bridges at most 15 characters', () => {
    expect(assertNetworkName('t-nat.1_a')).toBe('t-nat.1_a');
    expect(assertBridgeName('virbr0')).toBe('virbr0');
    for (const bad of ['-c', '../x', 'a b', 'a;b', 'a/b', '', 'x'.repeat(64), 'n\0']) {
      expect(() => assertNetworkName(bad)).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    }
    expect(() => assertBridgeName('b'.repeat(16))).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });
});
