import { storedForm } from '../../../src/templates/import/expect.js';
import { compressionOf, contentKind } from '../../../src/templates/import/sniff.js';

// Heads built byte by byte from the formats' published layouts (QEMU's qcow2.txt, ECMA-119,
// POSIX ustar, the MBR/GPT specifications), not from the code under test.

function head(size = 64 * 1024, writes: Array<[number, string | number[]]> = []): Buffer {
  const bytes = Buffer.alloc(size);
  for (const [offset, value] of writes) (typeof value === 'string' ? Buffer.from(value, 'latin1') : Buffer.from(value)).copy(bytes, offset);
  return bytes;
}

const heads = {
  qcow2: head(1024, [[0, [0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]]]),
  mbr: head(1024, [[510, [0x55, 0xaa]]]),
  gpt: head(2048, [[510, [0x55, 0xaa]], [512, 'EFI PART']]),
  hybridIso: head(64 * 1024, [[510, [0x55, 0xaa]], [0x8001, 'CD001']]),
  tar: head(1024, [[0, 'etc/motd'], [257, 'ustar\u000000']]),
  html: Buffer.from('\n  <!DOCTYPE html><html><body>Not Found</body></html>'),
  htmlBare: Buffer.from('<html>\n<head><title>404</title>'),
  vmdk: head(1024, [[0, 'KDMV']]),
  vdi: head(1024, [[0, '<<< Oracle VM VirtualBox Disk Image >>>\n'], [0x40, [0x7f, 0x10, 0xda, 0xbe]]]),
  vhdx: head(1024, [[0, 'vhdxfile']]),
  gzip: Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0]),
  xz: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 4]),
  zstd: Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]),
  bzip2: Buffer.from('BZh91AY&SY'),
  text: Buffer.from('just some text\n'),
  short: Buffer.alloc(0),
};

describe('what a file is, from its first bytes', () => {
  test.each([
    ['qcow2', 'qcow2'],
    ['mbr', 'disk'],
    ['gpt', 'disk'],
    ['hybridIso', 'iso9660'],
    ['tar', 'tar'],
    ['html', 'html'],
    ['htmlBare', 'html'],
    ['vmdk', 'vmdk'],
    ['vdi', 'vdi'],
    ['vhdx', 'vhdx'],
    ['gzip', 'gzip'],
    ['xz', 'xz'],
    ['zstd', 'zstd'],
    ['bzip2', 'bzip2'],
    ['text', 'unknown'],
    ['short', 'unknown'],
  ] as const)('%s is %s', (name, kind) => {
    expect(contentKind(heads[name])).toBe(kind);
  });

  test('compression is read from the magic alone', () => {
    expect(compressionOf(heads.gzip)).toBe('gzip');
    expect(compressionOf(heads.xz)).toBe('xz');
    expect(compressionOf(heads.qcow2)).toBeUndefined();
    expect(compressionOf(Buffer.from('BZhx'))).toBeUndefined();
  });
});

describe('what an import keeps, by template type and format', () => {
  const problem = (result: ReturnType<typeof storedForm>) => (typeof result === 'string' ? `kept as ${result}` : result.problem);

  test('images: qcow2 as qcow2, a partitioned or boot disk as raw; format forces and is checked', () => {
    expect(storedForm('image', 'auto', 'qcow2')).toBe('qcow2');
    expect(storedForm('image', 'auto', 'disk')).toBe('raw');
    expect(storedForm('image', 'raw', 'unknown')).toBe('raw');
    expect(storedForm('image', 'raw', 'iso9660')).toBe('raw');
    expect(storedForm('image', 'qcow2', 'qcow2')).toBe('qcow2');
    expect(problem(storedForm('image', 'qcow2', 'disk'))).toBe('is not a qcow2 image (it is a raw disk image)');
    expect(problem(storedForm('image', 'raw', 'qcow2'))).toBe('is a qcow2 image, not raw: import it with format=qcow2 or leave format out');
    expect(problem(storedForm('image', 'raw', 'html'))).toBe('is an HTML page, not a raw disk image');
    expect(problem(storedForm('image', 'auto', 'unknown'))).toContain('give format=raw if it is a raw disk image');
    expect(problem(storedForm('image', 'auto', 'iso9660'))).toContain('import it as iso:NAME');
    expect(problem(storedForm('image', 'auto', 'vmdk'))).toBe('is a VMDK image, not a disk image (qcow2 or raw): convert it first (qemu-img convert -O qcow2)');
    expect(problem(storedForm('image', 'auto', 'tar'))).toBe('is a tar archive, not a disk image (qcow2 or raw)');
  });

  test('ISOs must be ISO 9660; archives plain, gzip or xz (checked member by member later)', () => {
    expect(storedForm('iso', 'auto', 'iso9660')).toBe('iso');
    expect(problem(storedForm('iso', 'auto', 'disk'))).toBe('is not an ISO 9660 image (it is a raw disk image)');
    for (const kind of ['tar', 'gzip', 'xz'] as const) expect(storedForm('lxc', 'auto', kind)).toBe('archive');
    expect(storedForm('tar', 'auto', 'tar')).toBe('archive');
    expect(problem(storedForm('lxc', 'auto', 'zstd'))).toBe('is zstd-compressed data: an archive is taken plain, gzip- or xz-compressed');
    expect(problem(storedForm('tar', 'auto', 'qcow2'))).toBe('is not a tar archive (it is a qcow2 image)');
  });
});
