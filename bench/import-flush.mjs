#!/usr/bin/env node
// P9, how to make a 1 GiB copy durable: the ways an import could copy a local file and have
// it on disk before the catalogue names it, timed in alternated rounds (order rotated):
//   cp + fdatasync      cp, then one fdatasync of the copy (what `cp && sync FILE` does)
//   cp + flush loop N   cp while fdatasync runs in a loop, N ms apart (0: back to back,
//                       as src/templates/import/flush.ts does), then a last fdatasync
//   js copy + fdatasync read and write in Node (8 MiB, two writes in flight), then fdatasync
//   js copy O_DSYNC     the same with every write synchronous, four in flight
//   cp                  the copy alone, not durable: the P9 reference
// The source is 1 GiB of random data, made once and read once (page cache) before round 1.
//
//   node bench/import-flush.mjs [rounds]    (default 5)
import { spawn, spawnSync } from 'node:child_process';
import { constants, mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

const rounds = Number(process.argv[2] ?? 5);
const root = `/var/lib/hvagent/t-bench-flush-${process.pid}`;
const source = join(root, 'source');
const copy = join(root, 'copy');
const CHUNK = 8 * 1024 * 1024;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const cp = () => new Promise((resolve, reject) => spawn('cp', [source, copy], { stdio: 'ignore' }).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cp exited ${code}`)))));

async function cpWithFlushLoop(everyMs) {
  const file = await open(copy, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  let running = true;
  let wake;
  const loop = (async () => {
    while (running) {
      await file.datasync();
      if (everyMs > 0) await new Promise((resolve) => ((wake = resolve), setTimeout(resolve, everyMs)));
    }
  })();
  await cp();
  running = false;
  wake?.();
  await loop;
  await file.datasync();
  await file.close();
}

async function jsCopy(flags, inFlight) {
  const [from, to] = await Promise.all([open(source, 'r'), open(copy, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | flags, 0o644)]);
  const { size } = await from.stat();
  const writes = [];
  for (let position = 0; position < size; position += CHUNK) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, size - position));
    const { bytesRead } = await from.read(buffer, 0, buffer.length, position);
    writes.push(to.write(buffer, 0, bytesRead, position));
    if (writes.length >= inFlight) await writes.shift();
  }
  await Promise.all(writes);
  await to.datasync();
  await Promise.all([from.close(), to.close()]);
}

const contenders = {
  'cp + fdatasync': async () => {
    await cp();
    const file = await open(copy, 'r+');
    await file.datasync();
    await file.close();
  },
  'cp + flush loop 500': () => cpWithFlushLoop(500),
  'cp + flush loop 100': () => cpWithFlushLoop(100),
  'cp + flush loop 0': () => cpWithFlushLoop(0),
  'js copy + fdatasync': () => jsCopy(0, 2),
  'js copy O_DSYNC': () => jsCopy(constants.O_DSYNC, 4),
  cp,
};

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (rmSync(root, { recursive: true, force: true }), process.exit(130)));
try {
  mkdirSync(root, { recursive: true });
  spawnSync('sh', ['-c', 'head -c 1073741824 /dev/urandom > "$0" && cat "$0" > /dev/null', source]);
  const names = Object.keys(contenders);
  const times = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const name of names.map((_, i) => names[(i + round) % names.length])) {
      spawnSync('sync'); // each starts with nothing of the others' left to write
      const t0 = performance.now();
      await contenders[name]();
      times[name].push(performance.now() - t0);
      rmSync(copy);
    }
  }
  console.log(`P9: a durable copy of 1 GiB, ${rounds} rounds, order rotated`);
  for (const name of names) console.log(`  ${name.padEnd(20)}: median ${median(times[name]).toFixed(0)} ms  (${times[name].map((ms) => ms.toFixed(0)).join(' ')})`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
