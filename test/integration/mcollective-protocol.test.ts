import { readdirSync } from 'node:fs';
import { mcollectiveCall } from '../helpers/agent.js';
import { expectRealHostInfo, hostTruth } from '../helpers/host-truth.js';

// MCollective 2.12's external-script contract, byte for byte (docs/reference/protocols.md §1.4-1.7):
// the flat data object in the reply file, failure as exit code 1..5 plus one stderr line.

describe('MCollective external-script protocol', () => {
  test('a good request: exit 0, flat reply data with every declared output', async () => {
    const ran = await mcollectiveCall({ action: 'info', data: { process_results: true } });
    expect(ran.exitCode).toBe(0);
    expect(ran.stderr).toBe('');
    expect(ran.reply).not.toHaveProperty('statuscode');
    expectRealHostInfo(ran.reply!, await hostTruth());
    expect(readdirSync(ran.cwd).sort()).toEqual(['mcollective_reply20261121-1-def', 'mcollective_request20261121-1-abc']);
  });

  test('a validation failure: exit 4, one line on stderr, error_code in the data', async () => {
    const ran = await mcollectiveCall({ action: 'info', data: { force: true, process_results: true } });
    expect(ran.exitCode).toBe(4);
    expect(ran.stderr).toBe("Input 'force' is not declared for host#info; it takes no inputs\n");
    expect(ran.reply).toMatchObject({ hostname: null, error_code: 'INPUT_UNDECLARED' });
  });

  test('an unknown action: exit 2', async () => {
    const ran = await mcollectiveCall({ action: 'stats', data: {} });
    expect(ran.exitCode).toBe(2);
    expect(ran.stderr.trim().split('\n')).toHaveLength(1);
    expect(ran.reply).toEqual({ error_code: 'ACTION_UNKNOWN' });
  });

  test('an unknown agent: exit 2', async () => {
    const ran = await mcollectiveCall({ agent: 'rpcutil', action: 'ping', data: {} });
    expect(ran.exitCode).toBe(2);
    expect(ran.stderr).toBe("Unknown agent 'rpcutil'\n");
  });

  test('a request file that is not JSON: exit 4 and a reply object, never a silent success', async () => {
    const ran = await mcollectiveCall('{"agent":"host",');
    expect(ran.exitCode).toBe(4);
    expect(ran.stderr).toMatch(/^Request is not valid JSON/);
    expect(ran.reply).toEqual({ error_code: 'REQUEST_INVALID' });
  });
});
