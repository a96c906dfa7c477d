#!/usr/bin/env node
// P9: wall time of `template import` of a 1 GiB image from a local file (through
// `hvagent rpc`: copied, checked, flushed to disk, named in the catalogue) divided by the
// wall time of `cp` of the same file. Also timed, for reference, in the same rounds: `cp`
// followed by `sync` of the copy (what a durable copy costs: an import flushes its file
// before the catalogue names it), and with --sha256 the import verifying a checksum.
// The three or four are run in an order that rotates per round, so machine noise hits all
// alike; each copy and template is removed (outside the timing) before the next round. The
// image is 1 GiB of random data converted to qcow2, made once per run, read once before
// the first round: every contender reads it from the page cache.
//
// With --against=AGENT, another build's agent (say main's, agent/hvagent of another checkout)
// imports in the same rounds too, to compare two builds under the same load. With
// --before-reply, this build imports once more per round with templates.import_flush:
// before_reply (flushed before the reply) beside the default before_use.
//
//   node bench/template-import.mjs [rounds] [--sha256] [--against=AGENT] [--before-reply]    (default 9 rounds)
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const agent = join(repo, 'agent/hvagent');
const rounds = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 9);
const withSha = process.argv.includes('--sha256');
const beforeReply = process.argv.includes('--before-reply');
const against = process.argv.find((arg) => arg.startsWith('--against='))?.slice('--against='.length);
const root = `/var/lib/hvagent/t-bench-p9-${process.pid}`;
const source = join(root, 'import', 'p9.qcow2');
const config = join(root, 'hvagent.yaml');

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ').slice(0, 200)} exited ${result.status}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const timed = (work) => {
  const t0 = performance.now();
  work();
  return performance.now() - t0;
};
const flushedConfig = join(root, 'hvagent-before-reply.yaml');
function template(action, data, by = agent, configFile = config) {
  const reply = JSON.parse(run(by, ['rpc'], { input: JSON.stringify({ agent: 'template', action, data }), env: { PATH: process.env.PATH, HVAGENT_CONFIG: configFile } }));
  if (reply.statuscode !== 0) throw new Error(`template ${action}: ${reply.statusmsg}`);
  return reply;
}

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (rmSync(root, { recursive: true, force: true }), process.exit(130)));
try {
  mkdirSync(join(root, 'import'), { recursive: true });
  const settings = { templates: { catalogue: join(root, 'catalogue'), import_dirs: [join(root, 'import')] }, paths: { jobs_dir: join(root, 'jobs') } };
  writeFileSync(config, JSON.stringify(settings));
  writeFileSync(flushedConfig, JSON.stringify({ ...settings, templates: { ...settings.templates, import_flush: 'before_reply' } }));
  run('sh', ['-c', 'head -c 1073741824 /dev/urandom > "$0" && qemu-img convert -f raw -O qcow2 "$0" "$1" && rm "$0"', join(root, 'random.raw'), source]);
  const sum = run('sha256sum', [source]).split(' ')[0];
  run('cat', [source], { stdio: ['ignore', 'ignore', 'pipe'] });

  const contenders = {
    import: (round) => {
      const ms = timed(() => template('import', { ref: `image:p9-${round}`, source }));
      template('delete', { ref: `image:p9-${round}` });
      return ms;
    },
    cp: (round) => {
      const copy = join(root, `cp-${round}`);
      const ms = timed(() => run('cp', [source, copy]));
      rmSync(copy);
      return ms;
    },
    'cp + sync': (round) => {
      const copy = join(root, `cps-${round}`);
      const ms = timed(() => run('sh', ['-c', 'cp "$0" "$1" && sync "$1"', source, copy]));
      rmSync(copy);
      return ms;
    },
    ...(against && {
      'import against': (round) => {
        const ms = timed(() => template('import', { ref: `image:p9a-${round}`, source }, against));
        template('delete', { ref: `image:p9a-${round}` });
        return ms;
      },
    }),
    ...(beforeReply && {
      'before_reply': (round) => {
        const ms = timed(() => template('import', { ref: `image:p9r-${round}`, source }, agent, flushedConfig));
        template('delete', { ref: `image:p9r-${round}` });
        return ms;
      },
    }),
    ...(withSha && {
      'import sha256': (round) => {
        const ms = timed(() => template('import', { ref: `image:p9s-${round}`, source, sha256: sum }));
        template('delete', { ref: `image:p9s-${round}` });
        return ms;
      },
    }),
  };
  const names = Object.keys(contenders);
  const times = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round <= rounds; round += 1) {
    // Round 0 warms up and is not counted; then the order rotates.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const ms = contenders[name](round);
      if (round > 0) times[name].push(ms);
    }
  }
  const ratios = (name) => times[name].map((ms, i) => ms / times.cp[i]);
  console.log(`P9 template import of a 1 GiB qcow2 from a local file vs cp, ${rounds} rounds, order rotated`);
  for (const name of names) {
    const ratio = name === 'cp' ? '' : `  ratio to cp: median ${median(ratios(name)).toFixed(2)}x`;
    console.log(`  ${name.padEnd(14)}: median ${median(times[name]).toFixed(0)} ms (min ${Math.min(...times[name]).toFixed(0)})${ratio}`);
  }
  if (withSha) console.log(`  import sha256 ÷ import: median ${median(times['import sha256'].map((ms, i) => ms / times.import[i])).toFixed(2)}x`);
  if (against) console.log(`  import ÷ import against: median ${median(times.import.map((ms, i) => ms / times['import against'][i])).toFixed(2)}x`);
  console.log(`  import ÷ (cp + sync): median ${median(times.import.map((ms, i) => ms / times['cp + sync'][i])).toFixed(2)}x   (goal: import ÷ cp <= 1.2x)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
