import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { allAgentDdls } from '../../src/ddl/registry.js';
import { RESERVED_ACTION_NAMES } from '../../src/ddl/reserved-names.js';
import { REPO } from '../helpers/agent.js';

// The generated Ruby DDLs must load in the real MCollective 2.12 and render with
// `mco plugin doc`; the reserved action names must match the installed RPC::Client.

function clientConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hv-mcdoc-'));
  cpSync(join(REPO, 'mcollective'), join(dir, 'mcollective'), { recursive: true });
  const config = join(dir, 'client.cfg');
  writeFileSync(config, `libdir = ${dir}\nsecurityprovider = psk\nplugin.psk = unused\nconnector = activemq\nlogfile = /dev/null\n`);
  return config;
}

describe('generated MCollective DDLs in the real MCollective 2.12', () => {
  const config = clientConfig();

  test.each(allAgentDdls().map((ddl) => [ddl.metadata.name, ddl]))('mco plugin doc %s renders every action and input', async (name, ddl) => {
    const ran = await execa('mco', ['plugin', 'doc', `agent/${name}`, '--config', config], {
      env: { RUBYOPT: '-W0' },
      stdin: 'ignore',
      reject: false,
    });
    expect(String(ran.stderr)).toBe('');
    expect(ran.exitCode).toBe(0);
    expect(String(ran.stdout)).toContain(`Timeout: ${ddl.metadata.timeout}`);
    for (const action of ddl.actions) {
      expect(String(ran.stdout)).toContain(`${action.action} action:`);
      for (const input of Object.keys(action.input)) expect(String(ran.stdout)).toContain(`${input}:`);
      for (const output of Object.values(action.output)) expect(String(ran.stdout)).toContain(`Display As: ${output.display_as}`);
    }
  });

  test('every reserved action name list entry is current for the installed MCollective', async () => {
    const ran = await execa(
      'ruby',
      ['-e', 'require "mcollective"; puts (MCollective::RPC::Client.instance_methods + MCollective::RPC::Client.private_instance_methods + Object.instance_methods + Object.private_instance_methods).map(&:to_s).grep(/\\A[a-z][a-z0-9_]*\\z/).uniq'],
      { env: { RUBYOPT: '-W0' } },
    );
    const missing = String(ran.stdout).split('\n').filter((name) => name && !RESERVED_ACTION_NAMES.has(name));
    expect(missing).toEqual([]);
  });

  test('no action of any agent collides with them', () => {
    const collisions = allAgentDdls().flatMap((ddl) => ddl.actions.map((action) => action.action)).filter((name) => RESERVED_ACTION_NAMES.has(name));
    expect(collisions).toEqual([]);
  });
});
