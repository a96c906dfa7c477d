import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { stdioRpc } from '../helpers/agent.js';

// The authorization hook runs after validation and before anything else: a refused
// request changes nothing.

function configFile(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'hv-config-')), 'hvagent.yaml');
  writeFileSync(file, yaml);
  return file;
}

const create = { agent: 'vm', action: 'create', data: { name: 'auth-never', vm_class: 'qemu', kernel: '/var/lib/hvagent/test-assets/vmlinuz' } };

async function defined(name: string): Promise<boolean> {
  return (await execa('virsh', ['-c', 'qemu:///system', 'domstate', name], { reject: false })).exitCode === 0;
}

describe('authorization', () => {
  test('a read-only host refuses mutating actions and still answers queries', async () => {
    const env = { HVAGENT_CONFIG: configFile('authorization:\n  read_only: true\n') };
    const refused = await stdioRpc(create, env);
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_AUTHORIZED' } });
    expect(refused.statusmsg).toBe('This host is read-only: vm#create changes state and is refused');
    expect(await defined('auth-never')).toBe(false);
    expect((await stdioRpc({ agent: 'vm', action: 'list' }, env)).statuscode).toBe(0);
  });

  test('the first matching rule decides, by caller, agent and action; the caller is the process uid, whatever the body claims', async () => {
    const me = `uid=${process.getuid!()}`;
    const env = {
      HVAGENT_CONFIG: configFile(
        ['authorization:', '  rules:', `    - { caller: "${me}", agent: vm, action: "snapshot_*", allow: true }`, '    - { caller: "ops", agent: vm, action: "*", allow: true }', '    - { agent: vm, action: "*", allow: false }'].join('\n'),
      ),
    };
    // Claiming the allowed caller 'ops' in the body gets nothing: stdio proves only the uid.
    const denied = await stdioRpc({ ...create, callerid: 'ops' }, env);
    expect(denied).toMatchObject({ statuscode: 1, statusmsg: `Caller '${me}' is not authorized to call vm#create`, data: { error_code: 'NOT_AUTHORIZED' } });
    expect(await defined('auth-never')).toBe(false);
    expect((await stdioRpc({ agent: 'host', action: 'agent_info' }, env)).statuscode).toBe(0);
    const allowed = await stdioRpc({ agent: 'vm', action: 'snapshot_list', data: { name: 'auth-missing' }, callerid: 'someone-else' }, env);
    expect(allowed.data.error_code).toBe('NOT_FOUND');
  });

  test('a disabled agent is refused and not activated', async () => {
    const env = { HVAGENT_CONFIG: configFile('agents:\n  disabled: [vm]\n') };
    expect(await stdioRpc({ agent: 'vm', action: 'list' }, env)).toMatchObject({ statuscode: 1, statusmsg: "Agent 'vm' is disabled on this host" });
  });

  test('an invalid configuration is refused with where and why', async () => {
    const env = { HVAGENT_CONFIG: configFile('libvirt:\n  uri: qemu:///system\n  colour: red\n') };
    const reply = await stdioRpc({ agent: 'vm', action: 'list' }, env);
    expect(reply).toMatchObject({ statuscode: 5, data: { error_code: 'CONFIG_INVALID' } });
    expect(reply.statusmsg).toMatch(/^Configuration .*hvagent\.yaml: libvirt has an unknown key 'colour'$/);
  });
});
