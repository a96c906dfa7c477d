#!/usr/bin/env node
// `npm run package`: the Debian package, built with dpkg-deb from the built agent (dist/):
//
//   /usr/lib/hvagent/hvagent           the executable (dist/hvagent.cjs: scripts/loader.cjs)
//   /usr/lib/hvagent/hvagent.*         every piece it loads, as dist/ has them (the list comes
//                                      from dist/, as `hvagent install` takes it); not the V8
//                                      code caches: postinst writes them for the Node installed
//   /usr/bin/hvagent                   → ../lib/hvagent/hvagent
//   /etc/hvagent/hvagent.yaml          conffile: every key commented, at its default
//   /lib/systemd/system/hvagent.service   `hvagent serve` (not enabled by the package)
//   bash and zsh completion, README and copyright under /usr/share
//   DEBIAN/{control,conffiles,postinst,prerm,postrm} from packaging/debian/
//
//   node scripts/package.mjs [OUTPUT_DIR]     (default build/); prints the .deb's path
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const output = process.argv[2] ?? join(root, 'build');
const staging = join(root, 'build', 'package', 'root');
const dist = join(root, 'dist');
const packaging = join(root, 'packaging');

/** The pieces scripts/loader.cjs loads, as src/adapter/install.ts recognises them. */
const PIECE = /^hvagent\.(bundle\.js|[a-z0-9_.-]+\.cjs)$/;

let pieces;
try {
  pieces = readdirSync(dist).filter((name) => PIECE.test(name) && name !== 'hvagent.cjs');
} catch {
  pieces = [];
}
if (!pieces.includes('hvagent.bundle.js')) {
  process.stderr.write('scripts/package.mjs: dist/ holds no built agent: run npm run build first\n');
  process.exit(1);
}

const put = (from, to, mode = 0o644) => {
  const path = join(staging, to);
  mkdirSync(dirname(path), { recursive: true });
  copyFileSync(from, path);
  chmodSync(path, mode);
};

rmSync(join(root, 'build', 'package'), { recursive: true, force: true });
put(join(dist, 'hvagent.cjs'), 'usr/lib/hvagent/hvagent', 0o755);
for (const name of pieces) put(join(dist, name), `usr/lib/hvagent/${name}`);
mkdirSync(join(staging, 'usr/bin'), { recursive: true });
symlinkSync('../lib/hvagent/hvagent', join(staging, 'usr/bin/hvagent'));
put(join(packaging, 'hvagent.yaml'), 'etc/hvagent/hvagent.yaml');
put(join(packaging, 'hvagent.service'), 'lib/systemd/system/hvagent.service');
put(join(root, 'completion/hvagent.bash'), 'usr/share/bash-completion/completions/hvagent');
put(join(root, 'completion/_hvagent'), 'usr/share/zsh/vendor-completions/_hvagent');
put(join(root, 'README.md'), 'usr/share/doc/hvagent/README.md');
put(join(packaging, 'debian/copyright'), 'usr/share/doc/hvagent/copyright');
for (const script of ['postinst', 'prerm', 'postrm']) put(join(packaging, 'debian', script), `DEBIAN/${script}`, 0o755);
put(join(packaging, 'debian/conffiles'), 'DEBIAN/conffiles');

/** Installed-Size: KiB the files take, as dpkg-gencontrol counts them (one per file at least). */
const kib = (path) => {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats) return 0;
  if (stats.isDirectory()) return readdirSync(path).reduce((sum, name) => sum + (name === 'DEBIAN' ? 0 : kib(join(path, name))), 0);
  return Math.max(1, Math.ceil(stats.size / 1024));
};
const control = readFileSync(join(packaging, 'debian/control'), 'utf8').replace('@VERSION@', version).replace('@INSTALLED_SIZE@', String(kib(staging)));
writeFileSync(join(staging, 'DEBIAN/control'), control);

mkdirSync(output, { recursive: true });
const deb = join(output, `hvagent_${version}_all.deb`);
execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', staging, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
process.stdout.write(`${deb}\n`);
