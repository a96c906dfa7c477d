import { HvError } from '../../../src/core/errors.js';
import { parseManifest } from '../../../src/templates/catalogue.js';

const image = { name: 'debian12', type: 'image', description: 'Debian 12', file: 'images/debian12.qcow2', format: 'qcow2' };
const lxc = { name: 'busybox', type: 'lxc', description: 'Busybox', archive: 'lxc/busybox.tar.gz', overlay: 'lxc/o.tar.xz' };
const tar = { name: 'alpine', type: 'tar', description: 'Alpine', archive: 'alpine.tar' };
const pxe = { name: 'centos6.2', type: 'pxe', description: 'CentOS', network: 'pxe-net', tftp_root: 'pxe/centos', boot_file: 'pxelinux.0', address: '10.0.0.1/24' };

function refusal(manifest: unknown): string {
  try {
    parseManifest(manifest, '/cat/catalogue.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(HvError);
    expect((error as HvError).code).toBe('CONFIG_INVALID');
    expect((error as HvError).statuscode).toBe(5);
    return (error as HvError).message;
  }
  throw new Error('accepted');
}

const withEntry = (entry: Record<string, unknown>) => ({ version: 1, templates: [image, entry] });

/** The one problem of a manifest whose other entries are good: they stay usable, the bad one alone is set aside. */
function unusable(manifest: { version: number; templates: unknown[] }): string {
  const parsed = parseManifest(manifest, '/cat/catalogue.yaml');
  expect(parsed.unusable).toHaveLength(1);
  expect(parsed.entries).toEqual(manifest.templates.filter((_, index) => index !== parsed.unusable[0]!.index));
  return parsed.unusable[0]!.problem;
}

describe('catalogue manifest validation', () => {
  test('a manifest with every type is accepted as written', () => {
    const imported = { sha256: 'a'.repeat(64), source: 'https://example.org/x.iso', imported_at: '2026-01-02T03:04:05.678Z' };
    const iso = { name: 'netinst', type: 'iso', description: 'Installer', file: 'iso/netinst+abc123.iso', ...imported };
    const manifest = { version: 1, templates: [image, lxc, tar, pxe, iso, { ...image, type: 'image', name: 'raw1', format: 'raw', os: 'linux', notes: 'n', ...imported }] };
    expect(parseManifest(manifest, 'x')).toMatchObject({ entries: manifest.templates, unusable: [] });
    expect(parseManifest({ version: 1, templates: [] }, 'x')).toMatchObject({ entries: [], unusable: [] });
  });

  test('the top level: version 1 and a template list, nothing else', () => {
    expect(refusal({ templates: [] })).toBe("Template catalogue /cat/catalogue.yaml: top level lacks 'version'");
    expect(refusal({ version: 2, templates: [] })).toContain('version must be 1');
    expect(refusal({ version: 1, templates: [], extra: 1 })).toContain("top level has an unknown key 'extra'");
    expect(refusal(null)).toContain('catalogue.yaml');
    expect(refusal({ version: 1, templates: {} })).toContain('templates must be array');
  });

  test('a bad entry is set aside alone, named by index and ref, with the reason', () => {
    expect(unusable(withEntry({ ...lxc, file: 'x.qcow2' }))).toBe("templates[1] (lxc:busybox) has an unknown key 'file'");
    expect(unusable(withEntry({ name: 'x', type: 'image', description: 'd', format: 'raw' }))).toContain("templates[1] (image:x) lacks 'file'");
    expect(unusable(withEntry({ ...image, format: 'vmdk' }))).toContain('templates[1] (image:debian12) format must be one of raw, qcow2');
    expect(unusable(withEntry({ ...image, type: 'vmdk' }))).toContain('templates[1] (vmdk:debian12) type must be one of image, lxc, tar, pxe, iso');
    expect(unusable(withEntry({ ...image, type: 'iso' }))).toContain("templates[1] (iso:debian12) has an unknown key 'format'");
    expect(unusable(withEntry({ ...image, sha256: 'ABC' }))).toContain('templates[1] (image:debian12) sha256 "ABC" is not allowed');
    expect(unusable(withEntry({ ...image, name: 'Debian' }))).toContain('templates[1] (image:Debian) name "Debian" is not allowed');
    expect(unusable(withEntry({ ...lxc, archive: 'busybox.zip' }))).toContain('templates[1] (lxc:busybox) archive "busybox.zip" is not allowed');
    expect(unusable(withEntry({ ...pxe, boot_file: undefined }))).toContain("templates[1] (pxe:centos6.2) lacks 'boot_file'");
    expect(unusable(withEntry({ ...pxe, address: '10.0.0.300/24' }))).toContain('address "10.0.0.300/24" is not allowed');
    expect(unusable(withEntry({ ...image, description: 'two\nlines' }))).toContain('description');
    expect(unusable(withEntry({ ...image, description: '' }))).toContain('description');
    expect(unusable(withEntry({ name: 'x' }))).toContain("templates[1] lacks 'type'");
  });

  test('paths that are absolute or hold a NUL are refused by the schema; .. by the resolver', () => {
    expect(unusable(withEntry({ ...image, file: '/etc/passwd' }))).toContain('file "/etc/passwd" is not allowed');
    expect(unusable(withEntry({ ...image, file: 'a\0b.qcow2' }))).toContain('is not allowed');
    expect(unusable(withEntry({ ...image, file: '../x.qcow2' }))).toContain('is not allowed');
  });

  test('the same TYPE:NAME twice: the first is used, the repeat set aside; one name under two types is fine', () => {
    expect(unusable({ version: 1, templates: [image, lxc, { ...image, file: 'other.qcow2' }] })).toContain('templates[2] (image:debian12) repeats templates[0]');
    expect(parseManifest({ version: 1, templates: [lxc, { ...lxc, type: 'tar' }] }, 'x').entries).toHaveLength(2);
  });

  test('an unusable entry keeps its readable ref and the files it names (prune and delete leave them)', () => {
    const parsed = parseManifest({ version: 1, templates: [{ ...lxc, archive: 'busybox.zip' }, 'junk', { ...image, name: 'Bad Name' }] }, 'x');
    expect(parsed.entries).toEqual([]);
    expect(parsed.unusable.map(({ index, ref, files }) => ({ index, ref, files }))).toEqual([
      { index: 0, ref: 'lxc:busybox', files: ['busybox.zip', 'lxc/o.tar.xz'] },
      { index: 1, ref: null, files: [] },
      { index: 2, ref: null, files: ['images/debian12.qcow2'] },
    ]);
  });
});
