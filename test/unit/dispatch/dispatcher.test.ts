// The dispatcher as the REST server and a stdio stream use it: handed its agents, it runs a
// request under its DDL, finds it by id while it runs, cancels it (the handler sees its
// signal aborted and still gets to undo), and reloads the configuration.
import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionContext, AgentRegistry } from '../../../src/agents/contract.js';
import { loadConfig } from '../../../src/config/load.js';
import { HvError } from '../../../src/core/errors.js';
import { createDispatcher } from '../../../src/dispatch/dispatcher.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function configFile(content: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'hv-dispatch-'));
  directories.push(directory);
  const file = join(directory, 'hvagent.yaml');
  writeFileSync(file, `paths: { jobs_dir: ${directory}/jobs, lock_dir: ${directory}/locks }\n${content}`);
  return file;
}

/** A `host info` handler that runs until its signal aborts, then takes a while to undo. */
function waitingAgents(seen: { undone: boolean; started?: () => void }): AgentRegistry {
  const info = async (context: ActionContext) => {
    seen.started?.();
    await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    seen.undone = true;
    throw context.signal.reason;
  };
  return { host: { info: async () => info } };
}

describe('dispatcher', () => {
  test('runs only the handlers it is handed', async () => {
    const config = await loadConfig({ HVAGENT_CONFIG: configFile('') });
    const dispatcher = createDispatcher({ agents: { host: { agent_info: async () => async () => ({ version: 'handed' }) } }, config: async () => config });
    const handed = await dispatcher.handle({ agent: 'host', action: 'agent_info', data: {}, protocol: 'stdio' });
    expect(handed).toMatchObject({ statuscode: 0, data: { version: 'handed' } });
    const notHanded = await dispatcher.handle({ agent: 'host', action: 'usage', data: {}, protocol: 'stdio' });
    expect(notHanded).toMatchObject({ statuscode: 2, data: { error_code: 'ACTION_UNKNOWN' } });
  });

  test('a running request is found by its id and cancelled; its handler undoes before the reply', async () => {
    const config = await loadConfig({ HVAGENT_CONFIG: configFile('') });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const seen: { undone: boolean; started?: () => void } = { undone: false, started };
    const dispatcher = createDispatcher({ agents: waitingAgents(seen), config: async () => config });
    const reply = dispatcher.handle({ agent: 'host', action: 'info', data: {}, requestid: 'req-1', callerid: 'uid=0', protocol: 'stdio' });
    await running;
    expect(dispatcher.find('req-1')).toMatchObject({ id: 'req-1', agent: 'host', action: 'info', caller: 'uid=0', protocol: 'stdio' });
    expect(dispatcher.running().map((request) => request.id)).toEqual(['req-1']);
    expect(dispatcher.cancel('no-such-request')).toBe(false);
    expect(dispatcher.cancel('req-1', 'the test')).toBe(true);
    const answered = await reply;
    expect(answered).toMatchObject({ statuscode: 1, data: { error_code: 'CANCELLED' } });
    expect(answered.statusmsg).toContain('cancelled by the test');
    expect(seen.undone).toBe(true);
    expect(dispatcher.find('req-1')).toBeUndefined();
  });

  test('two requests with one id are both found: the second gets an id of its own', async () => {
    const config = await loadConfig({ HVAGENT_CONFIG: configFile('') });
    let count = 0;
    let bothStarted!: () => void;
    const both = new Promise<void>((resolve) => (bothStarted = resolve));
    const seen = { undone: false, started: () => (++count === 2 ? bothStarted() : undefined) };
    const dispatcher = createDispatcher({ agents: waitingAgents(seen), config: async () => config });
    const replies = [1, 2].map(() => dispatcher.handle({ agent: 'host', action: 'info', data: {}, requestid: 'same', protocol: 'stdio' }));
    await both;
    const ids = dispatcher.running().map((request) => request.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) dispatcher.cancel(id);
    await Promise.all(replies);
  });

  test('reloadConfig reads the file again; a file that does not load keeps the one in use', async () => {
    const file = configFile('authorization: { read_only: false }\n');
    const previous = process.env.HVAGENT_CONFIG;
    process.env.HVAGENT_CONFIG = file;
    try {
      const dispatcher = createDispatcher({ agents: {} });
      expect((await dispatcher.reloadConfig()).authorization.read_only).toBe(false);
      writeFileSync(file, 'authorization: { read_only: true }\n');
      expect((await dispatcher.reloadConfig()).authorization.read_only).toBe(true);
      expect((await loadConfig()).authorization.read_only).toBe(true);
      writeFileSync(file, 'authorization: { read_only: maybe }\n');
      await expect(dispatcher.reloadConfig()).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      expect((await loadConfig()).authorization.read_only).toBe(true);
    } finally {
      if (previous === undefined) delete process.env.HVAGENT_CONFIG;
      else process.env.HVAGENT_CONFIG = previous;
    }
  });

  test('a handler error reaches the caller as its typed code, every declared output null', async () => {
    const config = await loadConfig({ HVAGENT_CONFIG: configFile('') });
    const failing = { host: { info: async () => async () => Promise.reject(new HvError('NOT_FOUND', 'nothing here')) } };
    const reply = await createDispatcher({ agents: failing, config: async () => config }).handle({ agent: 'host', action: 'info', data: {}, protocol: 'stdio' });
    expect(reply).toMatchObject({ statuscode: 1, statusmsg: 'nothing here', data: { error_code: 'NOT_FOUND', hostname: null, vm_classes: null } });
  });
});
