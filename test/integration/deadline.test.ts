import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { mcollectiveCall, stdioRpc } from '../helpers/agent.js';

// A "hypervisor" that accepts connections and never answers: virsh hangs on it. The
// agent must give up at its own deadline, reply with DEADLINE_EXCEEDED, and kill the
// virsh it started: the server sees that connection close.

async function silentHypervisor() {
  const sockets: Socket[] = [];
  const closed: Array<Promise<unknown>> = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    closed.push(once(socket, 'close'));
    socket.on('error', () => undefined);
    socket.resume(); // read and drop what virsh sends, so that its exit is seen as EOF
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    uri: `qemu+tcp://127.0.0.1:${port}/system`,
    sockets,
    allClosed: () => Promise.all(closed),
    stop: () => {
      sockets.forEach((socket) => socket.destroy());
      server.close();
    },
  };
}

describe('the agent keeps its own deadline below the DDL timeout', () => {
  test('stdio: DEADLINE_EXCEEDED and the hung virsh is killed', async () => {
    const hypervisor = await silentHypervisor();
    try {
      const reply = await stdioRpc({ agent: 'host', action: 'info' }, { HVAGENT_URI: hypervisor.uri, HVAGENT_DEADLINE_MS: '1500' });
      expect(reply).toMatchObject({ statuscode: 1, data: { error_code: 'DEADLINE_EXCEEDED', hostname: null } });
      expect(reply.statusmsg).toBe("Gave up after 1500 ms, before the agent's timeout");
      expect(hypervisor.sockets.length).toBeGreaterThanOrEqual(1);
      await hypervisor.allClosed();
    } finally {
      hypervisor.stop();
    }
  });

  test('MCollective: exit 1 with the reason on stderr', async () => {
    const hypervisor = await silentHypervisor();
    try {
      const ran = await mcollectiveCall({ action: 'info', data: {} }, { HVAGENT_URI: hypervisor.uri, HVAGENT_DEADLINE_MS: '1500' });
      expect(ran.exitCode).toBe(1);
      expect(ran.stderr).toBe("Gave up after 1500 ms, before the agent's timeout\n");
      expect(ran.reply).toMatchObject({ error_code: 'DEADLINE_EXCEEDED' });
      await hypervisor.allClosed();
    } finally {
      hypervisor.stop();
    }
  });

  test('the deadline can be shortened, never lengthened past the DDL timeout', async () => {
    const { deadlineFor } = await import('../../src/dispatch/deadline.js');
    expect(deadlineFor(20, {}).ms).toBe(18_000);
    expect(deadlineFor(20, { HVAGENT_DEADLINE_MS: '999999' }).ms).toBe(18_000);
    expect(deadlineFor(20, { HVAGENT_DEADLINE_MS: '500' }).ms).toBe(500);
    expect(deadlineFor(60, {}).ms).toBe(54_000);
  });
});
