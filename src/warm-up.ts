import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENTS } from './agents/index.js';
import { loadConfig } from './config/load.js';
import { createDispatcher } from './dispatch/dispatcher.js';
import { answerServer } from './adapter/server.js';
import { runCli } from './adapter/cli.js';
import type { CliStreams } from './adapter/cli-output.js';

/**
 * scripts/loader.cjs, writing the V8 code caches, asks for a warm-up instead of a run, so
 * that the caches also hold the functions compiled on a request's path, not just each
 * piece's top level (a request would otherwise compile them from source): after the refused
 * request that main's cache is written from (warm-refusal.ts), a request through
 * MCollective's entry, one refused request per action,
 * every handler loaded, and the everyday reads run for real against libvirt's test driver
 * (in virsh's own process: no daemon, nothing of the host's touched), so that the handlers'
 * bodies, the process runner and the parsers are in the caches too, not compiled on every
 * request; then the command line (its own piece, src/adapter/cli.ts) prints some of them, as
 * it does a reply `hvagent serve` gave it. Where virsh is missing those reads fail, and warm
 * what they reached.
 */
export async function warmUp(): Promise<void> {
  const dispatcher = createDispatcher({ agents: AGENTS, audit: false });
  const scratch = mkdtempSync(join(tmpdir(), 'hvagent-warmup-'));
  try {
    const request = join(scratch, 'request');
    const reply = join(scratch, 'reply');
    const { configValidator, catalogueValidator, poolFileValidator } = await import('./ddl/registry.js');
    configValidator()({});
    poolFileValidator()({});
    catalogueValidator()({});
    // A refusal through MCollective would print its status line on stderr: this one needs no hypervisor and succeeds.
    writeFileSync(request, JSON.stringify({ agent: 'host', action: 'agent_info', data: {} }));
    await answerServer({ MCOLLECTIVE_REQUEST_FILE: request, MCOLLECTIVE_REPLY_FILE: reply }, [], dispatcher);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const { allAgentDdls } = await import('./ddl/registry.js');
  for (const ddl of allAgentDdls()) {
    for (const action of ddl.actions) {
      await dispatcher.handleText(JSON.stringify({ agent: ddl.metadata.name, action: action.action, data: { '~': 1 } }), 'choria');
    }
  }
  await Promise.all(Object.values(AGENTS).flatMap((actions) => Object.values(actions).map((load) => load())));
  await warmEverydayReads();
}

const TEST_DRIVER = 'test:///default';
const EVERYDAY_READS: ReadonlyArray<[string, string, Record<string, unknown>]> = [
  ['vm', 'list', {}],
  ['vm', 'list', { details: true }],
  ['vm', 'info', { name: 'test' }],
  ['host', 'info', {}],
  ['network', 'nic_list', { name: 'test' }],
];

async function warmEverydayReads(): Promise<void> {
  const config = await loadConfig({ HVAGENT_CONFIG: '/dev/null', HVAGENT_URI: TEST_DRIVER });
  config.libvirt.lxc_uri = TEST_DRIVER;
  const dispatcher = createDispatcher({ agents: AGENTS, config: async () => config, audit: false });
  for (const [agent, action, data] of EVERYDAY_READS) await dispatcher.handle({ agent, action, data, protocol: 'cli' });
  for (const line of COMMAND_LINES) await runCli(line, dispatcher, DISCARDED);
}

/** A table, sections, JSON, a typed input and a failure with its hint. */
const COMMAND_LINES: ReadonlyArray<readonly string[]> = [
  ['vm', 'list'],
  ['vm', 'list', 'details=true'],
  ['host', 'info'],
  ['vm', 'list', '--output', 'json'],
  ['vm', 'info', 'name=hvagent-warm-up-absent'],
];
const DISCARDED: CliStreams = { stdout: { write: () => true }, stderr: { write: () => true }, terminal: false };

