import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { AGENT, cli, mcollectiveCall, stdioRpc } from '../helpers/agent.js';
import { choriaRequest, newId, sandbox, type Sandbox } from '../helpers/audit.js';

// Authorization on every protocol, with the caller each transport proves: the process uid
// on stdio and the CLI, the runner's caller in an MCollective request file, Choria's
// callerid. A caller id claimed in a body is never trusted. Each denial is typed on its
// protocol (statuscode 1, NOT_AUTHORIZED) and changes nothing: the volume a denied delete
// names is still there, the VM a denied create names is never defined.

const me = `uid=${process.getuid!()}`;
const pool = `audit-policy-${randomBytes(3).toString('hex')}`;
const volume = 'keepme';
let box: Sandbox;
let denials = 0;

async function virsh(args: string[]) {
  return execa('virsh', ['-c', 'qemu:///system', ...args], { reject: false });
}

const poolDir = mkdtempSync(join(tmpdir(), 'audit-policy-pool-'));

beforeAll(async () => {
  box = sandbox('audit-policy-policy', { extra: `storage: { pools: { ${pool}: { plugin: raw, path: ${poolDir} } } }` });
  writeFileSync(join(box.policyDir, 'groups'), 'sysadmin choria=admin.mcollective uid=501\n');
  box.policy('volume', ['policy default deny', `allow\t${me} uid=500 choria=ops.mcollective\tlist info\t*\t*`, 'allow\tsysadmin\t*\t*\t*', `allow\t${me}\tcreate\t*\t*`]);
  box.policy('vm', ['policy default deny', 'allow\tchoria=facts.mcollective\tinfo\tcountry=uk\t*']);
  const made = await cli(['volume', 'create', `pool=${pool}`, `name=${volume}`, 'size_mb=1'], { HVAGENT_CONFIG: box.config });
  expect(made.exitCode).toBe(0);
});

afterAll(async () => {
  process.stdout.write(`policy denials tested: ${denials}, each changing nothing\n`);
  await virsh(['pool-destroy', `hvagent-${pool}`]);
  await virsh(['pool-undefine', `hvagent-${pool}`]);
  box?.remove();
  rmSync(poolDir, { recursive: true, force: true });
});

const env = () => ({ HVAGENT_CONFIG: box.config });
const volumePath = () => join(poolDir, volume);
const del = { agent: 'volume', action: 'delete', data: { pool, name: volume } };
const info = { agent: 'volume', action: 'info', data: { pool, name: volume } };

function denied(statuscode: number, code: unknown, message: string, caller: string) {
  expect(statuscode).toBe(1);
  expect(code).toBe('NOT_AUTHORIZED');
  expect(message).toContain(`Caller '${caller}' is not authorized to call volume#delete`);
  expect(existsSync(volumePath())).toBe(true);
  denials += 1;
}

describe('policy files on every protocol', () => {
  test('stdio: the uid decides; claiming an allowed caller in the body gets nothing', async () => {
    expect((await stdioRpc(info, env())).statuscode).toBe(0);
    for (const claimed of [undefined, 'choria=admin.mcollective', 'uid=501']) {
      const reply = await stdioRpc({ ...del, ...(claimed && { callerid: claimed }) }, env());
      denied(reply.statuscode, reply.data.error_code, reply.statusmsg, me);
      expect(reply.statusmsg).toMatch(/volume\.policy\)$/);
    }
  });

  test('the CLI: the uid decides', async () => {
    expect((await cli(['volume', 'info', `pool=${pool}`, `name=${volume}`], env())).exitCode).toBe(0);
    const run = await cli(['volume', 'delete', `pool=${pool}`, `name=${volume}`, '--json'], env());
    const reply = JSON.parse(run.stdout) as { statuscode: number; statusmsg: string; data: Record<string, unknown> };
    expect(run.exitCode).toBe(1);
    denied(reply.statuscode, reply.data.error_code, reply.statusmsg, me);
  });

  const mcollective = (callerid: string, body: { agent: string; action: string; data: unknown }, extra: Record<string, string> = env()) =>
    mcollectiveCall(JSON.stringify({ ...body, sender: 'hv1', callerid, uniqid: randomBytes(16).toString('hex') }), extra);

  test("MCollective request file: the runner's caller decides (exit code 1, the reason as the status line)", async () => {
    expect((await mcollective('uid=500', info)).exitCode).toBe(0);
    const refused = await mcollective('uid=500', del);
    expect(refused.replyText).toContain('"error_code":"NOT_AUTHORIZED"');
    denied(refused.exitCode, 'NOT_AUTHORIZED', refused.stderr.split('\n')[0]!, 'uid=500');
    // uid=501 is in the sysadmin group: allowed, and the delete of a missing volume changes nothing.
    const allowed = await mcollective('uid=501', { ...del, data: { pool, name: 'no-such-volume' } });
    expect([allowed.exitCode, JSON.parse(allowed.replyText).changed]).toEqual([0, false]);
  });

  test("MCollective request file run by a process that is not the middleware: the file's caller is not trusted", async () => {
    const untrusted = sandbox('audit-policy-untrusted', { authorization: ['middleware_uids: [4242]'] });
    try {
      writeFileSync(join(untrusted.policyDir, 'volume.policy'), 'policy default deny\nallow\tuid=501\t*\t*\t*\n');
      const config = { HVAGENT_CONFIG: untrusted.config };
      const refused = await mcollective('uid=501', del, config);
      denied(refused.exitCode, 'NOT_AUTHORIZED', refused.stderr.split('\n')[0]!, me);
      expect(untrusted.lines()[0]).toMatchObject({ caller: me, claimed_caller: 'uid=501', protocol: 'mcollective', outcome: 'NOT_AUTHORIZED' });
    } finally {
      untrusted.remove();
    }
  });

  test("Choria request file: its callerid decides (statuscode 1 in the reply, exit 0)", async () => {
    const options = { executable: AGENT, pluginConfig: `config = ${box.config}\n` };
    expect((await choriaRequest(options, { ...info, callerid: 'choria=ops.mcollective' })).reply.statuscode).toBe(0);
    const refused = await choriaRequest(options, { ...del, callerid: 'choria=ops.mcollective' });
    expect(refused.exitCode).toBe(0);
    denied(refused.reply.statuscode, refused.reply.data.error_code, refused.reply.statusmsg, 'choria=ops.mcollective');
    const grouped = await choriaRequest(options, { ...del, data: { pool, name: 'no-such-volume' }, callerid: 'choria=admin.mcollective' });
    expect(grouped.reply).toMatchObject({ statuscode: 0, data: { changed: false } });
  });

  test("Choria facts decide a rule that names them", async () => {
    const ask = (country: string) =>
      choriaRequest({ executable: AGENT, pluginConfig: `config = ${box.config}\n`, facts: { country } }, { agent: 'vm', action: 'info', data: { name: newId('audit-policy-none') }, callerid: 'choria=facts.mcollective' });
    expect((await ask('uk')).reply.data.error_code).toBe('NOT_FOUND');
    const refused = (await ask('de')).reply;
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_AUTHORIZED' } });
    expect(refused.statusmsg).toMatch(/the default of .*vm\.policy/);
    denials += 1;
  });

  test('a denied create defines nothing, on each protocol', async () => {
    const name = newId('audit-policy-vm');
    const create = { agent: 'vm', action: 'create', data: { name, vm_class: 'qemu', kernel: '/var/lib/hvagent/test-assets/vmlinuz' } };
    const replies = [
      await stdioRpc(create, env()),
      JSON.parse((await cli(['vm', 'create', `name=${name}`, 'vm_class=qemu', 'kernel=/var/lib/hvagent/test-assets/vmlinuz', '--json'], env())).stdout),
      JSON.parse((await choriaRequest({ executable: AGENT, pluginConfig: `config = ${box.config}\n` }, { ...create, callerid: 'choria=ops.mcollective' })).replyText),
    ] as { statuscode: number; data: Record<string, unknown> }[];
    const mco = await mcollective('uid=500', create);
    expect(replies.map((reply) => [reply.statuscode, reply.data.error_code])).toEqual(Array(3).fill([1, 'NOT_AUTHORIZED']));
    expect([mco.exitCode, mco.replyText.includes('NOT_AUTHORIZED')]).toEqual([1, true]);
    denials += 4;
    expect((await virsh(['domstate', name])).exitCode).not.toBe(0);
  });
});

describe('default deny and unreadable policies', () => {
  test('default_deny refuses what no rule or policy allows; a rule or a policy file lets it in', async () => {
    const strict = sandbox('audit-policy-strict', { authorization: ['default_deny: true', 'rules:', `  - { caller: "${me}", agent: host, action: agent_info, allow: true }`] });
    try {
      const config = { HVAGENT_CONFIG: strict.config };
      const refused = await stdioRpc({ agent: 'host', action: 'info' }, config);
      expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_AUTHORIZED' } });
      expect(refused.statusmsg).toBe(`Caller '${me}' is not authorized to call host#info: no rule or policy allows it, and this host denies by default`);
      denials += 1;
      expect((await stdioRpc({ agent: 'host', action: 'agent_info' }, config)).statuscode).toBe(0);
      strict.policy('host', ['policy default deny', `allow\t${me}\tinfo\t*\t*`]);
      expect((await stdioRpc({ agent: 'host', action: 'info' }, config)).statuscode).toBe(0);
    } finally {
      strict.remove();
    }
  });

  test('a policy line that cannot be read refuses the agent, naming the line', async () => {
    const broken = sandbox('audit-policy-brokenpolicy');
    try {
      broken.policy('host', ['policy default allow', 'deny uid=0 info * *']);
      const refused = await stdioRpc({ agent: 'host', action: 'agent_info' }, { HVAGENT_CONFIG: broken.config });
      expect(refused.data.error_code).toBe('NOT_AUTHORIZED');
      expect(refused.statusmsg).toMatch(/host\.policy line 2 is neither "policy default allow\|deny" nor a TAB-separated allow\|deny rule\)$/);
      denials += 1;
    } finally {
      broken.remove();
    }
  });
});
