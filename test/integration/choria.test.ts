import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT } from '../helpers/agent.js';
import { choriaActivation, choriaRpc } from '../helpers/choria.js';
import { expectRealHostInfo, hostTruth } from '../helpers/host-truth.js';

// go-choria's exact invocation of an external agent (test/helpers/choria.ts): the
// environment is cleared to PATH + CHORIA_EXTERNAL_*, so the URI can only come from the
// per-agent plugin config, exactly as an operator would set it.
const options = { executable: AGENT, timeoutSeconds: 20 };

describe('Choria external agent protocol', () => {
  test('activation answers {"activate": true} for a known agent, false for an unknown one', async () => {
    const known = await choriaActivation(options, 'host');
    expect(known.exitCode).toBe(0);
    expect(JSON.parse(known.replyText)).toEqual({ activate: true });
    expect(known.argv[2]).toBe('io.choria.mcorpc.external.v1.rpc_request');
    expect(Object.keys(known.env).sort()).toEqual(
      ['CHORIA_EXTERNAL_CONFIG', 'CHORIA_EXTERNAL_FACTS', 'CHORIA_EXTERNAL_PROTOCOL', 'CHORIA_EXTERNAL_REPLY', 'CHORIA_EXTERNAL_REQUEST', 'PATH'],
    );
    const unknown = await choriaActivation(options, 'nosuchagent');
    expect(unknown.exitCode).toBe(0);
    expect(unknown.activate).toBe(false);
  });

  test('activation is false on a host without virsh on PATH', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'hv-path-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    const noVirsh = await choriaActivation({ ...options, path: bin }, 'host');
    expect(noVirsh.exitCode).toBe(0);
    expect(noVirsh.activate).toBe(false);
  });

  test('a good request: statuscode 0 and real host data, exit 0', async () => {
    const outcome = await choriaRpc({ ...options, pluginConfig: 'uri = qemu:///system\n' }, 'host', 'info', {
      process_results: true,
    });
    expect(outcome.exitCode).toBe(0);
    expect(outcome.published.statuscode).toBe(0);
    expect(outcome.published.statusmsg).toBe('OK');
    expectRealHostInfo(outcome.published.data as Record<string, unknown>, await hostTruth());
    expect(Object.keys(JSON.parse(outcome.replyText)).sort()).toEqual(['data', 'statuscode', 'statusmsg']);
  });

  test('a bad request: statuscode 4 with the reason, still exit 0 so Choria keeps our message', async () => {
    const outcome = await choriaRpc(options, 'host', 'info', { verbose: 'yes' });
    expect(outcome.exitCode).toBe(0);
    expect(outcome.published).toMatchObject({
      statuscode: 4,
      statusmsg: "Input 'verbose' is not declared for host#info; it takes no inputs",
      data: { error_code: 'INPUT_UNDECLARED' },
    });
  });

  test('an unknown action: statuscode 2', async () => {
    const outcome = await choriaRpc(options, 'host', 'explode', {});
    expect(outcome.exitCode).toBe(0);
    expect(outcome.published).toMatchObject({
      statuscode: 2,
      statusmsg: "Unknown action 'explode' for agent 'host'; actions: info, agent_info, usage, capacity",
      data: { error_code: 'ACTION_UNKNOWN' },
    });
  });

  test('an unreachable hypervisor is a clear statuscode 1, not a crash', async () => {
    const outcome = await choriaRpc({ ...options, pluginConfig: 'uri = qemu+unix:///system?socket=/nonexistent/libvirt-sock\n' }, 'host', 'info', {});
    expect(outcome.exitCode).toBe(0);
    expect(outcome.published.statuscode).toBe(1);
    expect((outcome.published.data as Record<string, unknown>).error_code).toMatch(/^HYPERVISOR_/);
  });
});
