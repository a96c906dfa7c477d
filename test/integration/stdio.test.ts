import { AGENT, stdioRpc, stdioStream, cli } from '../helpers/agent.js';
import { expectRealHostInfo, hostTruth } from '../helpers/host-truth.js';

describe('stdio JSON: hvagent rpc', () => {
  test('one request in, one reply out', async () => {
    const reply = await stdioRpc({ agent: 'host', action: 'info', data: {}, requestid: 'r-1', callerid: 'ops' });
    expect(reply.statuscode).toBe(0);
    expect(reply.requestid).toBe('r-1');
    expectRealHostInfo(reply.data, await hostTruth());
  });

  test('data may be left out', async () => {
    expect((await stdioRpc({ agent: 'host', action: 'info' })).statuscode).toBe(0);
  });

  test('the stream answers each line in order, and a bad line does not stop it', async () => {
    const replies = await stdioStream([
      JSON.stringify({ agent: 'host', action: 'info', data: {}, requestid: 'a' }),
      'this is not json',
      JSON.stringify({ agent: 'host', action: 'info', data: { x: 1 }, requestid: 'b' }),
      '',
      JSON.stringify({ agent: 'nope', action: 'info', requestid: 'c' }),
      '[1,2,3]',
      JSON.stringify({ agent: 'host', action: 'info', requestid: 'd' }),
    ]);
    expect(replies.map((reply) => [reply.requestid, reply.statuscode, reply.data.error_code])).toEqual([
      ['a', 0, undefined],
      [undefined, 4, 'REQUEST_INVALID'],
      ['b', 4, 'INPUT_UNDECLARED'],
      ['c', 2, 'AGENT_UNKNOWN'],
      [undefined, 4, 'REQUEST_INVALID'],
      ['d', 0, undefined],
    ]);
  });

  test('a long stream keeps its order', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) =>
      i % 100 === 0
        ? JSON.stringify({ agent: 'host', action: 'info', requestid: `ok-${i}` })
        : JSON.stringify({ agent: 'host', action: 'info', data: { n: i }, requestid: `bad-${i}` }),
    );
    const replies = await stdioStream(lines);
    expect(replies.map((reply) => reply.requestid)).toEqual(lines.map((line) => JSON.parse(line).requestid));
    expect(replies.filter((reply) => reply.statuscode === 0)).toHaveLength(20);
  });

  test('50,000 replies through a pipe: none lost when the agent exits', async () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => JSON.stringify({ agent: 'host', action: 'agent_info', requestid: `n${i}` }));
    const replies = await stdioStream(lines);
    expect(replies).toHaveLength(50_000);
    expect(replies.at(-1)).toMatchObject({ requestid: 'n49999', statuscode: 0, data: { protocol: 'stdio' } });
  });

  test('a reader that goes away ends the stream quietly', async () => {
    const { execa } = await import('execa');
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ agent: 'host', action: 'agent_info', requestid: `p${i}` })).join('\n');
    const agent = execa(AGENT, ['rpc', '--stream'], { input: `${lines}\n`, stdout: 'pipe', stderr: 'pipe', reject: false, buffer: { stdout: false } });
    // Read one chunk, then close our end of the pipe, as `| head -c 100` would.
    await new Promise((resolve) => agent.stdout?.once('data', resolve));
    agent.stdout?.destroy();
    const result = await agent;
    expect(result.exitCode).toBe(0);
    expect(String(result.stderr)).toBe('');
  });

  test('an empty stdin for a single request is an error reply', async () => {
    const ran = await cli(['rpc'], {}, '');
    expect(JSON.parse(ran.stdout)).toMatchObject({ statuscode: 4, data: { error_code: 'REQUEST_INVALID' } });
  });
});
