// Jest helpers for end-to-end tests against a real MCollective fleet (see fleet.sh).
// Each startFleet() gets its own state directory and a free STOMP port, so test files
// running in parallel workers do not share a broker.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const FLEET_SH = fileURLToPath(new URL('./fleet.sh', import.meta.url));
/** The repository root: its mcollective/ holds util/hvagent_runner.rb. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

export interface FleetOptions {
  /** Directories holding mcollective/{agent,util}/...; merged in order into every libdir. */
  pluginSrc: string | string[];
  /** Server identities (default hv1, hv2). */
  nodes?: string[];
  /** Extra environment for the servers, which the agents they run inherit (e.g. HVAGENT_CONFIG). */
  env?: Record<string, string>;
  /** Extra environment of one server alone, by identity (values without spaces). */
  nodeEnv?: Record<string, Record<string, string>>;
}

/** One entry of `mco rpc --json` output. */
export interface RpcReply {
  agent: string;
  action: string;
  sender: string;
  statuscode: number;
  statusmsg: string;
  data: Record<string, unknown>;
}

export interface McoResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Parsed stdout when the arguments include --json, sorted by sender. */
  json?: RpcReply[];
  durationMs: number;
}

export interface Fleet {
  dir: string;
  nodes: string[];
  clientConfig: string;
  /** Flatfile of all identities, for `--nodes` (no discovery round). */
  nodesFile: string;
  /** Runs `mco <args> --config <client.cfg>` with stdin closed; never rejects on exit status. */
  mco(args: string[]): Promise<McoResult>;
  stop(): Promise<void>;
}

/** An ephemeral port that was free a moment ago (the broker binds it right after). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A fleet of hv1 and hv2 whose libdir is what `hvagent install mcollective` writes. */
export async function startHvagentFleet(options: Pick<FleetOptions, 'env' | 'nodeEnv'> = {}): Promise<Fleet> {
  const { cli } = await import('../helpers/agent.js');
  const pluginDir = await mkdtemp(join(tmpdir(), 'hv-plugin-'));
  const installed = await cli(['install', 'mcollective', pluginDir]);
  if (installed.exitCode !== 0) throw new Error(`hvagent install mcollective failed: ${installed.stderr}`);
  return startFleet({ pluginSrc: pluginDir, nodes: ['hv1', 'hv2'], ...options });
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const nodes = options.nodes ?? ['hv1', 'hv2'];
  const sources = Array.isArray(options.pluginSrc) ? options.pluginSrc : [options.pluginSrc];
  const dir = await mkdtemp(join(tmpdir(), 'hvagent-fleet-'));
  const env = {
    ...options.env,
    ...Object.fromEntries(Object.entries(options.nodeEnv ?? {}).map(([node, vars]) => [`NODE_ENV_${node}`, Object.entries(vars).map(([key, value]) => `${key}=${value}`).join(' ')])),
    FLEET: dir,
    NODES: nodes.join(' '),
    PLUGIN_SRC: sources.join(':'),
    STOMP_PORT: String(await freePort()),
  };
  const fleetSh = (args: string[]) => execa(FLEET_SH, args, { env, stdin: 'ignore', all: true, reject: false });

  const started = await fleetSh(['start']);
  if (started.exitCode !== 0) {
    await fleetSh(['stop', '--purge']);
    throw new Error(`fleet.sh start failed (${started.exitCode}):\n${started.all}`);
  }
  const clientConfig = join(dir, 'client', 'client.cfg');

  return {
    dir,
    nodes,
    clientConfig,
    nodesFile: join(dir, 'client', 'nodes.txt'),
    async mco(args) {
      const t0 = performance.now();
      // stdin closed: with a pipe, mco's stdin discovery check blocks until EOF (fleet doc §10).
      const result = await execa('mco', [...args, '--config', clientConfig], {
        stdin: 'ignore',
        reject: false,
        env: { RUBYOPT: '-W0', MCOLLECTIVE_EXTRA_OPTS: '' },
        timeout: 120_000, // a stuck client must not outlive the test run

      });
      const out: McoResult = {
        stdout: result.stdout,
        stderr: result.stderr,
        exitCode: result.exitCode ?? -1,
        durationMs: performance.now() - t0,
      };
      if (args.includes('--json') && result.stdout.trim().startsWith('[')) {
        out.json = (JSON.parse(result.stdout) as RpcReply[]).sort((a, b) => a.sender.localeCompare(b.sender));
      }
      return out;
    },
    async stop() {
      const stopped = await fleetSh(['stop']);
      // KEEP_FLEET=1 keeps logs and configs for a post-mortem.
      if (!process.env.KEEP_FLEET) await rm(dir, { recursive: true, force: true });
      if (stopped.exitCode !== 0) throw new Error(`fleet.sh stop failed:\n${stopped.all}`);
    },
  };
}
