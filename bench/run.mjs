#!/usr/bin/env node
// Runs every benchmark in turn (vm-list defines and removes 1,000 domains); figures go to docs/PERFORMANCE.md by hand, with the
// command that produced them.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bench = (name, ...args) => {
  console.log(`## ${name}`);
  execFileSync(process.execPath, [fileURLToPath(new URL(name, import.meta.url)), ...args], { stdio: 'inherit' });
};
bench('startup.mjs');
bench('stream.mjs');
bench('host-usage.mjs');
bench('vm-list.mjs');
bench('provision.mjs'); // needs scripts/test-templates.sh
bench('template-import.mjs', '9', '--sha256'); // writes a 1 GiB image, twice per round
