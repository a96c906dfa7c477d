// The template agent through `hvagent rpc`, HVAGENT_CONFIG pointing at the test catalogue
// or at hostile catalogues built here.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stdioRpc, type Reply } from '../helpers/agent.js';
import { cleanupScratch, configFileFor, scratchDirectory, testCatalogue } from './helpers.js';

let catalogue: string;
let env: Record<string, string>;
beforeAll(async () => {
  catalogue = await testCatalogue();
  env = { HVAGENT_CONFIG: configFileFor(catalogue) };
});
afterAll(cleanupScratch);

const template = (action: string, data: Record<string, unknown>, withEnv = env): Promise<Reply> => stdioRpc({ agent: 'template', action, data }, withEnv);

describe('template agent on the test catalogue', () => {
  test('list: every template, sorted by ref, with what is known', async () => {
    const reply = await template('list', {});
    expect(reply.statuscode).toBe(0);
    expect(reply.data).toMatchObject({ count: 4, catalogue });
    const templates = reply.data.templates as Array<Record<string, unknown>>;
    expect(templates.map((entry) => entry.ref)).toEqual(['image:tiny', 'lxc:busybox', 'pxe:tiny', 'tar:busybox']);
    expect(templates[0]).toMatchObject({ name: 'tiny', type: 'image', format: 'qcow2', accepted_by: ['qemu', 'kvm'], os: 'linux' });
    expect(templates[0]!.virtual_size_mb).toBeGreaterThan(14);
    expect(templates[1]).toMatchObject({ type: 'lxc', accepted_by: ['lxc'] });
    expect(templates[1]!.file_bytes).toBeGreaterThan(100_000);
    expect(templates[2]).toMatchObject({ type: 'pxe', network: 'hv-pxe-tiny', accepted_by: ['qemu', 'kvm'] });
  });

  test('list type=…: only that type', async () => {
    const reply = await template('list', { type: 'tar' });
    expect(reply.data).toMatchObject({ count: 1, templates: [{ ref: 'tar:busybox' }] });
    expect((await template('list', { type: 'vmdk' })).statuscode).toBe(4);
  });

  test('info: files, sizes, the VM classes that accept it', async () => {
    const image = await template('info', { ref: 'image:tiny' });
    expect(image.data).toMatchObject({
      ref: 'image:tiny',
      template_type: 'image',
      about: expect.stringContaining('SYSLINUX'),
      format: 'qcow2',
      files: { path: join(catalogue, 'images', 'tiny.qcow2') },
      accepted_by: ['qemu', 'kvm'],
      network: null,
    });
    const info = await execa('qemu-img', ['info', '--output=json', join(catalogue, 'images', 'tiny.qcow2')]);
    expect(image.data.virtual_size_mb).toBe(Math.ceil(JSON.parse(info.stdout)['virtual-size'] / 1048576));

    const lxc = await template('info', { ref: 'lxc:busybox' });
    expect(lxc.data).toMatchObject({
      files: { archive: join(catalogue, 'lxc', 'busybox.tar.gz'), overlay: join(catalogue, 'lxc', 'busybox-overlay.tar.gz') },
      notes: 'The overlay adds /etc/motd.',
      format: null,
    });
    const pxe = await template('info', { ref: 'pxe:tiny' });
    expect(pxe.data).toMatchObject({ network: 'hv-pxe-tiny', boot_file: 'pxelinux.0', address: '10.233.71.1/24', files: { tftp_root: join(catalogue, 'pxe', 'tiny') } });
  });

  test('info of an unknown template lists what exists; a malformed ref is refused', async () => {
    const missing = await template('info', { ref: 'image:debian12' });
    expect(missing).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
    expect(missing.statusmsg).toBe('No template image:debian12; templates: image:tiny, lxc:busybox, pxe:tiny, tar:busybox');
    for (const ref of ['vmdk:tiny', 'image:../x', 'image:Tiny', 'Tiny', '']) {
      expect(await template('info', { ref })).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    }
  });

  test('a bare name means the one template of that name: one two types share is refused, listing both', async () => {
    const shared = await template('info', { ref: 'busybox' });
    expect(shared).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
    expect(shared.statusmsg).toBe("Input 'ref': several templates are named busybox (lxc:busybox, tar:busybox): give TYPE:NAME");
    const missing = await template('info', { ref: 'debian12' });
    expect(missing).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
    expect(missing.statusmsg).toMatch(/^No template debian12; templates: /);
  });

  test('a host without a catalogue has no templates', async () => {
    const reply = await template('list', {}, { HVAGENT_CONFIG: configFileFor('/var/lib/hvagent/t-no-such-catalogue') });
    expect(reply.data).toMatchObject({ count: 0, templates: [] });
    expect((await template('info', { ref: 'image:tiny' }, { HVAGENT_CONFIG: configFileFor('/var/lib/hvagent/t-no-such-catalogue') })).statusmsg).toContain('holds no templates');
  });
});

describe('hostile or broken catalogue entries are unusable, alone, saying which entry and why', () => {
  /** A catalogue directory with these files and this manifest text. */
  function hostileCatalogue(manifest: string, build: (dir: string) => void = () => undefined): Record<string, string> {
    const dir = scratchDirectory('catalogue');
    build(dir);
    writeFileSync(join(dir, 'catalogue.yaml'), manifest);
    return { HVAGENT_CONFIG: configFileFor(dir) };
  }

  const imageEntry = (file: string, format = 'qcow2') => `version: 1\ntemplates:\n  - {name: evil, type: image, description: d, file: "${file}", format: ${format}}\n`;

  /** list reports the one entry as unusable (and lists nothing else); info of it is CONFIG_INVALID saying why. */
  async function invalid(withEnv: Record<string, string>, why: string, ref = 'image:evil'): Promise<void> {
    const list = await template('list', {}, withEnv);
    expect(list).toMatchObject({ statuscode: 0, data: { count: 0, templates: [] } });
    expect(list.data.unusable).toEqual([{ entry: 'templates[0]', ref, problem: expect.stringContaining(why) }]);
    const info = await template('info', { ref }, withEnv);
    expect(info).toMatchObject({ statuscode: 5, data: { error_code: 'CONFIG_INVALID' } });
    expect(info.statusmsg).toContain(why);
  }

  test('a path with ..', async () => {
    await invalid(hostileCatalogue(imageEntry('images/../../../etc/passwd')), "image:evil: 'images/../../../etc/passwd' has a '..' segment");
  });

  test('a symlink leading out of the catalogue', async () => {
    const withEnv = hostileCatalogue(imageEntry('images/evil.qcow2'), (dir) => {
      mkdirSync(join(dir, 'images'));
      symlinkSync('/etc/passwd', join(dir, 'images', 'evil.qcow2'));
    });
    await invalid(withEnv, "image:evil: 'images/evil.qcow2' leads out of the catalogue (to /etc/passwd)");
  });

  test('a qcow2 image backed by a file outside', async () => {
    const base = join(scratchDirectory('outside'), 'base.qcow2');
    copyFileSync(join(catalogue, 'images', 'tiny.qcow2'), base);
    const withEnv = hostileCatalogue(imageEntry('evil.qcow2'), (dir) => {
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', join(dir, 'evil.qcow2')]);
    });
    await invalid(withEnv, 'evil.qcow2 depends on another file');
  });

  test('an image that depends on another file (a backing file, an external data file)', async () => {
    const backed = hostileCatalogue(imageEntry('backed.qcow2'), (dir) => {
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'base.qcow2'), '16M']);
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(dir, 'base.qcow2'), '-F', 'qcow2', join(dir, 'backed.qcow2')]);
    });
    await invalid(backed, 'must be standalone');
    const external = hostileCatalogue(imageEntry('external.qcow2'), (dir) => {
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'data.raw')}`, join(dir, 'external.qcow2'), '16M']);
    });
    await invalid(external, 'an external data file');
  });

  test('an image that is not in its declared format', async () => {
    const withEnv = hostileCatalogue(imageEntry('evil.qcow2'), (dir) => writeFileSync(join(dir, 'evil.qcow2'), Buffer.alloc(65536)));
    await invalid(withEnv, 'is not a qcow2 image');
  });

  test('an archive or TFTP tree that is missing or outside', async () => {
    await invalid(hostileCatalogue('version: 1\ntemplates:\n  - {name: evil, type: lxc, description: d, archive: missing.tar.gz}\n'), "lxc:evil: 'missing.tar.gz' does not exist", 'lxc:evil');
    const pxe = hostileCatalogue('version: 1\ntemplates:\n  - {name: evil, type: pxe, description: d, network: n, tftp_root: tftp, boot_file: pxelinux.0}\n', (dir) => {
      symlinkSync('/etc', join(dir, 'tftp'));
    });
    await invalid(pxe, "pxe:evil: 'tftp' leads out of the catalogue", 'pxe:evil');
  });

  test('an entry that breaks the schema; a repeated template (the first is used); a manifest that is not YAML (all of it is refused)', async () => {
    await invalid(hostileCatalogue(imageEntry('a.qcow2').replace('format: qcow2}', 'format: qcow2, size: 1}')), "templates[0] (image:evil) has an unknown key 'size'");
    const repeated = hostileCatalogue(`${imageEntry('a.qcow2')}  - {name: evil, type: image, description: again, file: b.qcow2, format: raw}\n`, (dir) =>
      copyFileSync(join(catalogue, 'images', 'tiny.qcow2'), join(dir, 'a.qcow2')),
    );
    const list = await template('list', {}, repeated);
    expect(list.data).toMatchObject({ count: 1, templates: [{ ref: 'image:evil', format: 'qcow2' }] });
    expect(list.data.unusable).toEqual([{ entry: 'templates[1]', ref: 'image:evil', problem: 'templates[1] (image:evil) repeats templates[0], which is the one used' }]);
    expect(await template('info', { ref: 'image:evil' }, repeated)).toMatchObject({ statuscode: 0, data: { about: 'd' } });
    const notYaml = hostileCatalogue('version: 1\ntemplates: [\n');
    for (const reply of [await template('list', {}, notYaml), await template('info', { ref: 'image:evil' }, notYaml)]) {
      expect(reply).toMatchObject({ statuscode: 5, data: { error_code: 'CONFIG_INVALID' } });
      expect(reply.statusmsg).toContain('is not valid YAML');
    }
  });

  test('one bad entry among good ones disables only itself: list shows the good ones and the bad one with its problem', async () => {
    const withEnv = hostileCatalogue(
      [
        'version: 1',
        'templates:',
        '  - {name: tiny, type: image, description: good, file: tiny.qcow2, format: qcow2}',
        '  - {name: gone, type: image, description: its file is missing, file: gone.qcow2, format: qcow2}',
        '  - {name: odd, type: image, description: d, file: odd.qcow2, format: vmdk}',
        '  - just a string',
        '  - {name: busybox, type: lxc, description: good too, archive: busybox.tar.gz}',
        '',
      ].join('\n'),
      (dir) => {
        copyFileSync(join(catalogue, 'images', 'tiny.qcow2'), join(dir, 'tiny.qcow2'));
        copyFileSync(join(catalogue, 'lxc', 'busybox.tar.gz'), join(dir, 'busybox.tar.gz'));
      },
    );
    const list = await template('list', {}, withEnv);
    expect(list).toMatchObject({ statuscode: 0, data: { count: 2 } });
    expect((list.data.templates as Array<{ ref: string }>).map((entry) => entry.ref)).toEqual(['image:tiny', 'lxc:busybox']);
    expect(list.data.unusable).toEqual([
      { entry: 'templates[1]', ref: 'image:gone', problem: "image:gone: 'gone.qcow2' does not exist in the catalogue" },
      { entry: 'templates[2]', ref: 'image:odd', problem: 'templates[2] (image:odd) format must be one of raw, qcow2' },
      { entry: 'templates[3]', ref: null, problem: 'templates[3] must be object' },
    ]);
    // Every unusable entry whatever the type asked for; the listed ones of that type only.
    expect((await template('list', { type: 'lxc' }, withEnv)).data).toMatchObject({ count: 1, templates: [{ ref: 'lxc:busybox' }] });
    expect(await template('info', { ref: 'image:tiny' }, withEnv)).toMatchObject({ statuscode: 0, data: { about: 'good' } });
    expect(await template('info', { ref: 'gone' }, withEnv)).toMatchObject({ statuscode: 5, data: { error_code: 'CONFIG_INVALID' } });
  });
});
