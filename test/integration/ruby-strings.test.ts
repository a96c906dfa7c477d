// Ruby literals in the generated MCollective DDLs, read back by real Ruby the way
// MCollective reads a DDL (File.read, then eval) under LC_ALL=C, a daemon's usual locale,
// where a raw non-ASCII character would stop the whole DDL loading.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { rubyString } from '../../src/ddl/generate/ruby.js';

test('every string comes back from Ruby as it was, ASCII or not', async () => {
  const values = ['plain', "it's", 'back\\slash', 'NAME-data1, NAME-data2, …', 'no #{interpolation} "here" \\ …', 'é, ü, 日本', 'tab\there'];
  const dir = mkdtempSync(join(tmpdir(), 'cli-package-ruby-'));
  try {
    const file = join(dir, 'strings.rb');
    writeFileSync(file, `[\n${values.map(rubyString).join(",\n")}\n]\n`);
    const script = 'require "json"; puts JSON.generate(eval(File.read(ARGV[0])).map { |s| s.encode("UTF-8") })';
    const ran = await execa('ruby', ['-e', script, file], { env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin' }, extendEnv: false });
    expect(JSON.parse(String(ran.stdout))).toEqual(values);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
