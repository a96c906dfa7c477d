// The configuration file the Debian package installs (packaging/hvagent.yaml) has every key
// commented out: reading it must cost no YAML parser, which is the largest piece the agent
// has (hvagent.vendor.cjs), or every request on a packaged host would pay for it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cli, REPO } from '../helpers/agent.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-package-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a configuration of comments only is read as the defaults without the YAML parser; a real one needs it', async () => {
  expect((await cli(['install', 'choria', join(dir, 'plugins')])).exitCode).toBe(0);
  const executable = join(dir, 'plugins', 'mcollective', 'agent', 'hvagent', 'hvagent');
  rmSync(join(dir, 'plugins', 'mcollective', 'agent', 'hvagent', 'hvagent.vendor.cjs'));
  const agentInfo = (config: string) =>
    execa(executable, ['host', 'agent_info', '--json'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HVAGENT_CONFIG: config }, extendEnv: false, reject: false });

  const packaged = await agentInfo(join(REPO, 'packaging', 'hvagent.yaml'));
  expect(JSON.parse(String(packaged.stdout))).toMatchObject({ statuscode: 0, data: { config_file: join(REPO, 'packaging', 'hvagent.yaml'), uri: 'qemu:///system', read_only: false } });

  const real = join(dir, 'real.yaml');
  writeFileSync(real, '# one key set\nauthorization: { read_only: true }\n');
  const needsParser = await agentInfo(real);
  expect(JSON.parse(String(needsParser.stdout))).toMatchObject({ statuscode: 5 });
  expect(String(needsParser.stdout)).toContain('hvagent.vendor.cjs');
});
