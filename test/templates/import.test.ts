// `template import` through the built agent (hvagent rpc, the CLI): real files, a real HTTP
// server on 127.0.0.1, real qemu-img, xz, gzip and tar. Every refusal is checked to name its
// input and to leave the catalogue exactly as it was (every file, and the manifest's text).
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { AGENT, agentEnv, cli, type Reply } from '../helpers/agent.js';
import { testCatalogue } from './helpers.js';
import { closedPort, importSandbox, installerIso, partFiles, run, sha256Of, startServer, TEST_CATALOGUE, TINY, type ImportSandbox, type TestServer } from './import-helpers.js';

let box: ImportSandbox;
let server: TestServer;
let iso: string;
// Sources made once: the test image compressed both ways, other content, a raw disk, a file of no format.
const source = (name: string) => join(box.importDir, name);

beforeAll(async () => {
  await testCatalogue();
  iso = await installerIso();
  box = importSandbox({}, [join(iso, '..')]);
  await run('sh', ['-c', `gzip -1 -c "$0" > "$1"`, TINY, source('tiny.qcow2.gz')]);
  await run('sh', ['-c', `xz -0 -T1 -c "$0" > "$1"`, TINY, source('tiny.qcow2.xz')]);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', source('other.qcow2'), '8M']);
  await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', TINY, source('tiny.raw')]);
  // 8 MiB, sparse, of zeros but for a signature-less first sector: a bare file system, say.
  writeFileSync(source('bare.img'), Buffer.from('not a boot sector'));
  truncateSync(source('bare.img'), 8 * 1024 * 1024);
  server = await startServer();
  server.serve('/tiny.qcow2', TINY);
  server.serve('/chunked/tiny.qcow2', TINY, { chunked: true });
  server.serve('/tiny.qcow2.xz', source('tiny.qcow2.xz'));
  server.serve('/tiny.qcow2.gz', source('tiny.qcow2.gz'), { chunked: true });
  server.serve('/bare.img', source('bare.img'));
});

afterAll(async () => {
  await server?.close();
  await box?.remove();
});

const importing = (data: Record<string, unknown>, env: Record<string, string> = {}): Promise<Reply> => box.template('import', data, env);
const manifest = () => parse(readFileSync(join(box.catalogue, 'catalogue.yaml'), 'utf8')) as { templates: Array<Record<string, unknown>> };
const entry = (type: string, name: string) => manifest().templates.find((candidate) => candidate.type === type && candidate.name === name);

/** Runs a request that must be refused, and proves it changed nothing. */
async function refused(data: Record<string, unknown>, code: string, env: Record<string, string> = {}): Promise<Reply> {
  const before = box.snapshot();
  const reply = await importing(data, env);
  expect(reply.data.error_code).toBe(code);
  expect(box.snapshot()).toBe(before);
  expect(partFiles(box)).toEqual([]);
  return reply;
}

describe('importing from a file', () => {
  test('a qcow2 image: a file of its own, named in the manifest, the same bytes; again: changed false', async () => {
    const reply = await importing({ ref: 'image:tiny', source: TINY, description: 'The test disk', os: 'linux' });
    expect(reply).toMatchObject({ statuscode: 0, data: { ref: 'image:tiny', changed: true, replaced: false, template_type: 'image', format: 'qcow2', sha256: null } });
    const file = reply.data.file as string;
    expect(file).toMatch(new RegExp(`^${box.catalogue}/images/tiny\\+[0-9a-z]+\\.qcow2$`));
    expect(await sha256Of(file)).toBe(await sha256Of(TINY));
    const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', TINY])).stdout) as { 'virtual-size': number };
    expect(reply.data.virtual_size_mb).toBe(Math.ceil(info['virtual-size'] / 1048576));
    expect(reply.data.file_bytes).toBe(statSync(TINY).size);
    expect(entry('image', 'tiny')).toMatchObject({ description: 'The test disk', os: 'linux', format: 'qcow2', file: file.slice(box.catalogue.length + 1), source: TINY });

    const again = await importing({ ref: 'image:tiny', source: TINY });
    expect(again.data).toMatchObject({ changed: false, file });
    const listed = await box.template('list', {});
    expect(listed.data).toMatchObject({ count: 1, templates: [{ ref: 'image:tiny', description: 'The test disk' }] });
  });

  test('a file copied by the kernel with sha256: hashed as the copy is written, the very bytes kept; a wrong sum keeps nothing', async () => {
    // 48 MiB of random data as qcow2: large enough for the hash to catch up with the copy.
    const big = source('random.qcow2');
    await run('sh', ['-c', 'head -c 50331648 /dev/urandom > "$0" && qemu-img convert -f raw -O qcow2 "$0" "$1" && rm "$0"', `${big}.raw`, big]);
    const sum = await sha256Of(big);
    await refused({ ref: 'image:random', source: big, sha256: sum.replace(/^./, (digit) => (digit === '0' ? '1' : '0')) }, 'CHECKSUM_MISMATCH');
    const reply = await importing({ ref: 'image:random', source: big, sha256: sum.toUpperCase() });
    expect(reply).toMatchObject({ statuscode: 0, data: { changed: true, format: 'qcow2', sha256: sum, bytes_received: statSync(big).size } });
    expect(await sha256Of(reply.data.file as string)).toBe(sum);
    expect(entry('image', 'random')!.sha256).toBe(sum);
  });

  test('gzip and xz images are decompressed on the way; the sha256 is of the file as given', async () => {
    const xz = await importing({ ref: 'image:tiny-xz', source: source('tiny.qcow2.xz'), sha256: (await sha256Of(source('tiny.qcow2.xz'))).toUpperCase() });
    expect(xz).toMatchObject({ statuscode: 0, data: { changed: true, format: 'qcow2', sha256: await sha256Of(source('tiny.qcow2.xz')), bytes_received: statSync(source('tiny.qcow2.xz')).size } });
    expect(await sha256Of(xz.data.file as string)).toBe(await sha256Of(TINY));
    expect(entry('image', 'tiny-xz')!.sha256).toBe(await sha256Of(source('tiny.qcow2.xz')));
    const gz = await importing({ ref: 'image:tiny-gz', source: source('tiny.qcow2.gz') });
    expect(await sha256Of(gz.data.file as string)).toBe(await sha256Of(TINY));
  });

  test('a raw disk is kept raw; one without a partition table or boot sector needs format=raw; zeros are not written', async () => {
    const raw = await importing({ ref: 'image:tiny-raw', source: source('tiny.raw') });
    expect(raw).toMatchObject({ statuscode: 0, data: { format: 'raw', file: expect.stringMatching(/\.raw$/) } });
    expect(await sha256Of(raw.data.file as string)).toBe(await sha256Of(source('tiny.raw')));

    const auto = await refused({ ref: 'image:bare', source: source('bare.img') }, 'INPUT_INVALID');
    expect(auto.statusmsg).toBe(`Input 'source': ${source('bare.img')} is not a qcow2 image and shows no partition table or boot sector: give format=raw if it is a raw disk image; nothing was kept`);
    // A file: copied by the kernel, its holes kept. A download: its runs of zeros skipped.
    for (const [name, from] of [['bare', source('bare.img')], ['bare-http', server.url('/bare.img')]] as const) {
      const forced = await importing({ ref: `image:${name}`, source: from, format: 'raw' });
      expect(forced).toMatchObject({ statuscode: 0, data: { format: 'raw', file_bytes: 8 * 1024 * 1024, virtual_size_mb: 8 } });
      const stored = statSync(forced.data.file as string);
      expect(stored.size).toBe(8 * 1024 * 1024);
      // Only the first block holds data.
      expect(stored.blocks * 512).toBeLessThanOrEqual(256 * 1024);
      expect(await sha256Of(forced.data.file as string)).toBe(await sha256Of(source('bare.img')));
    }
  });

  test('an installer ISO (iso:NAME) and a container archive (lxc:NAME, kept compressed)', async () => {
    const isoReply = await importing({ ref: 'iso:installer', source: iso });
    expect(isoReply).toMatchObject({ statuscode: 0, data: { template_type: 'iso', format: null, file: expect.stringMatching(/\/iso\/installer\+[0-9a-z]+\.iso$/) } });
    expect(await sha256Of(isoReply.data.file as string)).toBe(await sha256Of(iso));
    const archive = join(TEST_CATALOGUE, 'lxc', 'busybox.tar.gz');
    const lxc = await importing({ ref: 'lxc:bb', source: archive });
    expect(lxc).toMatchObject({ statuscode: 0, data: { template_type: 'lxc', file: expect.stringMatching(/\/lxc\/bb\+[0-9a-z]+\.tar\.gz$/) } });
    expect(await sha256Of(lxc.data.file as string)).toBe(await sha256Of(archive));
    expect((await box.template('info', { ref: 'lxc:bb' })).data).toMatchObject({ accepted_by: ['lxc'], files: { archive: lxc.data.file } });
  });

  test('--progress shows the phases on stderr, and the job record in jobs_dir says how it ended', async () => {
    const ran = await cli(['template', 'import', 'ref=image:progress', `source=${TINY}`, '--progress', '--json'], box.env);
    expect(ran.exitCode).toBe(0);
    expect(ran.stderr).toMatch(/^hvagent: template import image:progress: copying [\d.]+% [\d.]+ of [\d.]+ MiB$/m);
    expect(ran.stderr).toMatch(/: committing image:progress \(succeeded\)$/m);
    const jobs = readdirSync(box.jobs).filter((name) => name.endsWith('.json')).map((name) => JSON.parse(readFileSync(join(box.jobs, name), 'utf8')) as Record<string, unknown>);
    expect(jobs).toContainEqual(expect.objectContaining({ agent: 'template', action: 'import', target: 'image:progress', state: 'succeeded', protocol: 'cli' }));
  });
});

describe('importing from an HTTP server', () => {
  test('with and without Content-Length, plain, xz and gzip: the same image each time', async () => {
    const expected = await sha256Of(TINY);
    for (const [name, path] of [['http', '/tiny.qcow2'], ['http-chunked', '/chunked/tiny.qcow2'], ['http-xz', '/tiny.qcow2.xz'], ['http-gz', '/tiny.qcow2.gz']] as const) {
      const reply = await importing({ ref: `image:${name}`, source: server.url(path) });
      expect(reply).toMatchObject({ statuscode: 0, data: { changed: true, format: 'qcow2' } });
      expect(await sha256Of(reply.data.file as string)).toBe(expected);
      expect(entry('image', name)!.source).toBe(server.url(path));
    }
  });

  test('credentials and the query of a URL are never recorded or shown', async () => {
    const url = server.url('/tiny.qcow2?token=s3cr3t').replace('http://', 'http://user:hunter2@');
    const reply = await importing({ ref: 'image:secret', source: url });
    expect(reply.statuscode).toBe(0);
    // They were used, as Basic authentication.
    expect(server.authorizations.at(-1)).toBe(`Basic ${Buffer.from('user:hunter2').toString('base64')}`);
    expect(entry('image', 'secret')!.source).toBe(server.url('/tiny.qcow2'));
    const failed = await importing({ ref: 'image:secret2', source: server.url('/missing.qcow2?token=s3cr3t').replace('http://', 'http://user:hunter2@') });
    expect(failed.statusmsg).not.toMatch(/hunter2|s3cr3t/);
    expect(readFileSync(join(box.catalogue, 'catalogue.yaml'), 'utf8')).not.toMatch(/hunter2|s3cr3t/);
  });
});

describe('bad input: a typed error naming the input, and nothing left behind', () => {
  test('a sha256 mismatch', async () => {
    const reply = await refused({ ref: 'image:bad-sum', source: server.url('/tiny.qcow2.xz'), sha256: '0'.repeat(64) }, 'CHECKSUM_MISMATCH');
    expect(reply.statuscode).toBe(4);
    expect(reply.statusmsg).toBe(`Input 'sha256': ${server.url('/tiny.qcow2.xz')} has SHA-256 ${await sha256Of(source('tiny.qcow2.xz'))}, not ${'0'.repeat(64)}; nothing was kept`);
  });

  test('malformed refs and sources are refused by the DDL before anything runs', async () => {
    for (const ref of ['image:../x', 'IMAGE:x', 'vmdk:x', 'image:x/y', '']) {
      const reply = await refused({ ref, source: TINY }, 'INPUT_INVALID');
      expect(reply.statusmsg).toContain("'ref'");
    }
    for (const bad of ['relative/path.qcow2', 'ftp://example.org/x.qcow2', 'file:///etc/passwd', '/etc/../etc/passwd']) {
      expect((await refused({ ref: 'image:x', source: bad }, 'INPUT_INVALID')).statusmsg).toContain("'source'");
    }
    expect((await refused({ ref: 'image:x', source: TINY, sha256: 'xyz' }, 'INPUT_INVALID')).statusmsg).toContain("'sha256'");
  });

  test('a path outside templates.import_dirs, missing, or larger than max_import_mb', async () => {
    expect((await refused({ ref: 'image:x', source: '/etc/passwd' }, 'NOT_AUTHORIZED')).statusmsg).toBe(
      `Input 'source': /etc/passwd is outside the import directories (templates.import_dirs) (${box.importDir}, ${TEST_CATALOGUE}, ${join(iso, '..')})`,
    );
    expect((await refused({ ref: 'image:x', source: source('nothing.qcow2') }, 'NOT_FOUND')).statusmsg).toContain("Input 'source'");
    const small = { HVAGENT_CONFIG: writeConfig({ max_import_mb: 8 }) };
    expect((await refused({ ref: 'image:x', source: TINY }, 'QUOTA_EXCEEDED', small)).statusmsg).toBe(
      `Input 'source': ${TINY} is larger than templates.max_import_mb (8 MiB); nothing was kept`,
    );
  });

  test('an unreachable URL, a 404, a server that never answers, one that stalls, one that trickles, one that never ends', async () => {
    const unreachable = `http://127.0.0.1:${await closedPort()}/x.qcow2`;
    expect((await refused({ ref: 'image:x', source: unreachable }, 'DOWNLOAD_FAILED')).statusmsg).toBe(`Input 'source': ${unreachable}: connection refused; nothing was kept`);
    expect((await refused({ ref: 'image:x', source: server.url('/gone.qcow2') }, 'DOWNLOAD_FAILED')).statusmsg).toBe(
      `Input 'source': ${server.url('/gone.qcow2')} answered 404 Not Found; nothing was kept`,
    );
    const quick = { HVAGENT_CONFIG: writeConfig({ download_stall_s: 2, download_timeout_s: 5, max_import_mb: 32 }) };
    expect((await refused({ ref: 'image:x', source: server.url('/never-answers.qcow2') }, 'DOWNLOAD_FAILED', quick)).statusmsg).toContain('sent nothing for 2 s');
    expect((await refused({ ref: 'image:x', source: server.url('/stalls.qcow2') }, 'DOWNLOAD_FAILED', quick)).statusmsg).toContain('sent nothing for 2 s');
    expect((await refused({ ref: 'image:x', source: server.url('/trickle.qcow2') }, 'DOWNLOAD_FAILED', quick)).statusmsg).toContain('took longer than 5 s (templates.download_timeout_s)');
    expect((await refused({ ref: 'image:x', source: server.url('/endless.raw') }, 'QUOTA_EXCEEDED', quick)).statusmsg).toBe(
      `Input 'source': ${server.url('/endless.raw')} is larger than templates.max_import_mb (32 MiB); nothing was kept`,
    );
    expect((await refused({ ref: 'image:x', source: server.url('/announces-too-much.qcow2') }, 'QUOTA_EXCEEDED', quick)).statusmsg).toContain('is 1048576 MiB, more than templates.max_import_mb (32 MiB)');
    expect((await refused({ ref: 'image:x', source: server.url('/cut-short.qcow2') }, 'DOWNLOAD_FAILED', quick)).statusmsg).toBe(
      `Input 'source': ${server.url('/cut-short.qcow2')}: the connection closed before the whole file arrived; nothing was kept`,
    );
  });

  test('a file that is not what it claims to be', async () => {
    const page = await refused({ ref: 'image:x', source: server.url('/page.qcow2') }, 'INPUT_INVALID');
    expect(page.statusmsg).toBe(`Input 'source': ${server.url('/page.qcow2')} is an HTML page, not a disk image (qcow2 or raw); nothing was kept`);
    expect((await refused({ ref: 'image:x', source: server.url('/page.qcow2'), format: 'raw' }, 'INPUT_INVALID')).statusmsg).toContain('is an HTML page, not a raw disk image');
    expect((await refused({ ref: 'image:x', source: TINY, format: 'raw' }, 'INPUT_INVALID')).statusmsg).toContain('is a qcow2 image, not raw');
    expect((await refused({ ref: 'image:x', source: source('tiny.raw'), format: 'qcow2' }, 'INPUT_INVALID')).statusmsg).toContain('is not a qcow2 image (it is a raw disk image)');
    expect((await refused({ ref: 'iso:x', source: TINY }, 'INPUT_INVALID')).statusmsg).toContain('is not an ISO 9660 image (it is a qcow2 image)');
    expect((await refused({ ref: 'image:x', source: iso }, 'INPUT_INVALID')).statusmsg).toContain('is an ISO 9660 image: import it as iso:NAME');
    expect((await refused({ ref: 'lxc:x', source: source('tiny.qcow2.gz') }, 'INPUT_INVALID')).statusmsg).toContain('is not a tar archive tar can read');
    expect((await refused({ ref: 'iso:x', source: iso, format: 'raw' }, 'INPUT_INVALID')).statusmsg).toBe("Input 'format' is for image templates; iso:x is an iso template");
    expect((await refused({ ref: 'pxe:x', source: TINY }, 'UNSUPPORTED')).statusmsg).toContain("Input 'ref': pxe:x");
  });

  test('images that depend on other files, and hostile archives', async () => {
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', TINY, '-F', 'qcow2', source('child.qcow2')]);
    expect((await refused({ ref: 'image:x', source: source('child.qcow2') }, 'INPUT_INVALID')).statusmsg).toContain(`depends on its backing file "${TINY}"`);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${source('data.raw')}`, source('external.qcow2'), '4M']);
    expect((await refused({ ref: 'image:x', source: source('external.qcow2') }, 'INPUT_INVALID')).statusmsg).toContain('whose data lies in an external file');
    // A member with '..' and one below a symlink to /etc: listed and refused before anything is kept.
    const tree = join(box.root, 'hostile');
    await run('sh', ['-c', `mkdir -p "$0/d" && echo x > "$0/d/f" && ln -s /etc "$0/etc"`, tree]);
    await run('tar', ['-C', tree, '-cf', source('dotdot.tar'), '--transform=s,^d/f$,../f,', 'd/f']);
    expect((await refused({ ref: 'lxc:x', source: source('dotdot.tar') }, 'INPUT_INVALID')).statusmsg).toContain(`member "../f" has a '..' segment`);
    await run('sh', ['-c', `tar -C "$0" -cf "$1" etc && tar -C "$0" -rf "$1" --transform=s,^d/f$,etc/passwd, d/f && xz -0 -T1 "$1"`, tree, source('through.tar')]);
    expect((await refused({ ref: 'tar:x', source: source('through.tar.xz') }, 'INPUT_INVALID')).statusmsg).toContain('lies below the symlink "etc"');
  });

  test('a ref that collides: TEMPLATE_EXISTS unless replace=true, which gives the template a new file', async () => {
    const first = await importing({ ref: 'image:collide', source: TINY });
    expect((await refused({ ref: 'image:collide', source: source('other.qcow2') }, 'TEMPLATE_EXISTS')).statusmsg).toBe(
      'Template image:collide exists with other content: give replace=true to replace it (VMs cloned from it keep the old file), or import under another name',
    );
    const replaced = await importing({ ref: 'image:collide', source: source('other.qcow2'), replace: true });
    expect(replaced).toMatchObject({ statuscode: 0, data: { changed: true, replaced: true } });
    expect(replaced.data.file).not.toBe(first.data.file);
    expect(await sha256Of(replaced.data.file as string)).toBe(await sha256Of(source('other.qcow2')));
    // Nothing used the old file: it is gone.
    expect(replaced.data.removed_files).toEqual([first.data.file]);
    expect(existsSync(first.data.file as string)).toBe(false);
  });
});

describe('bare names, delete, and imports at the same time', () => {
  test('a bare name is the one template of that name, else image; a name two types share must be written TYPE:NAME', async () => {
    const made = await importing({ ref: 'plain', source: TINY });
    expect(made.data).toMatchObject({ ref: 'image:plain', changed: true });
    expect((await box.template('info', { ref: 'plain' })).data).toMatchObject({ ref: 'image:plain' });
    await importing({ ref: 'iso:plain', source: iso });
    const ambiguous = await box.template('info', { ref: 'plain' });
    expect(ambiguous.statusmsg).toBe("Input 'ref': several templates are named plain (image:plain, iso:plain): give TYPE:NAME");
    expect((await refused({ ref: 'plain', source: TINY }, 'INPUT_INVALID')).statusmsg).toContain('several templates are named plain');
  });

  test('delete removes the entry and its file; deleting what does not exist is changed false', async () => {
    const made = await importing({ ref: 'image:doomed', source: TINY });
    const deleted = await box.template('delete', { ref: 'image:doomed' });
    expect(deleted).toMatchObject({ statuscode: 0, data: { ref: 'image:doomed', changed: true, removed_files: [made.data.file] } });
    expect(existsSync(made.data.file as string)).toBe(false);
    expect(entry('image', 'doomed')).toBeUndefined();
    expect((await box.template('delete', { ref: 'image:doomed' })).data).toMatchObject({ changed: false, removed_files: [] });
  });

  test('concurrent imports lose no entry, and a reader never sees a half-written manifest', async () => {
    const names = ['c1', 'c2', 'c3', 'c4'];
    let done = false;
    const reads: Reply[] = [];
    const reader = (async () => {
      while (!done) reads.push(await box.template('list', { type: 'image' }));
    })();
    const replies = await Promise.all(names.map((name) => importing({ ref: `image:${name}`, source: source('tiny.qcow2.gz') })));
    done = true;
    await reader;
    expect(replies.map((reply) => reply.statuscode)).toEqual([0, 0, 0, 0]);
    for (const name of names) expect(entry('image', name)).toBeDefined();
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) expect(read.statuscode).toBe(0);

    // The same content under one ref, twice at once: one adds it, the other finds it there.
    const same = await Promise.all([importing({ ref: 'image:twice', source: TINY }), importing({ ref: 'image:twice', source: TINY })]);
    expect(same.map((reply) => reply.data.changed).sort()).toEqual([false, true]);
    expect(readdirSync(join(box.catalogue, 'images')).filter((name) => name.startsWith('twice+'))).toHaveLength(1);
  });

  test('a killed import leaves only a part file the catalogue never shows, and the next import removes it', async () => {
    await importing({ ref: 'image:before-kill', source: TINY });
    const before = box.snapshot().split('\n').filter((line) => !line.startsWith('.import/'));
    const running = execa(AGENT, ['rpc'], {
      input: JSON.stringify({ agent: 'template', action: 'import', data: { ref: 'image:killed', source: server.url('/trickle.qcow2') } }),
      env: agentEnv(box.env),
      extendEnv: false,
      reject: false,
    });
    await waitUntil(() => partFiles(box).length > 0, 'the import to start writing');
    const parts = partFiles(box);
    running.kill('SIGKILL');
    await running;
    expect(partFiles(box)).toEqual(parts);
    expect(box.snapshot().split('\n').filter((line) => !line.startsWith('.import/'))).toEqual(before);
    expect((await box.template('info', { ref: 'image:killed' })).data.error_code).toBe('NOT_FOUND');
    await importing({ ref: 'image:after-kill', source: TINY });
    expect(partFiles(box)).toEqual([]);
  });
});

function writeConfig(templates: Record<string, unknown>): string {
  const config = JSON.parse(readFileSync(box.config, 'utf8')) as { templates: Record<string, unknown> };
  const file = join(box.root, `quick-${Object.values(templates).join('-')}.yaml`);
  writeFileSync(file, JSON.stringify({ ...config, templates: { ...config.templates, ...templates } }));
  return file;
}

async function waitUntil(probe: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
