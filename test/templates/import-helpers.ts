// What the `template import` tests share: a sandbox (its own catalogue, import directory,
// qcow2 pool and job directory under one t-imp- directory), a real HTTP server on
// 127.0.0.1 that serves files the way well-behaved and badly-behaved servers do, and a
// snapshot of the catalogue directory to prove a refused import changed nothing.
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { REPO, stdioRpc, type Reply } from '../helpers/agent.js';

export const TEST_CATALOGUE = process.env.HVAGENT_TEST_TEMPLATES ?? '/var/lib/hvagent/test-templates';
export const TINY = join(TEST_CATALOGUE, 'images', 'tiny.qcow2');

export interface ImportSandbox {
  root: string;
  catalogue: string;
  importDir: string;
  /** The qcow2 pool's name (unique: libvirt mirrors it as hvagent-<name> on the shared libvirtd) and directory. */
  poolName: string;
  pool: string;
  jobs: string;
  config: string;
  env: Record<string, string>;
  template(action: string, data: Record<string, unknown>, env?: Record<string, string>): Promise<Reply>;
  /** Every path below the catalogue (relative, sorted) with its size, and the manifest's text. */
  snapshot(): string;
  remove(): Promise<void>;
}

export function importSandbox(settings: Record<string, unknown> = {}, extraImportDirs: string[] = []): ImportSandbox {
  const token = randomBytes(4).toString('hex');
  const root = `/var/lib/hvagent/t-imp-${token}`;
  const poolName = `timp${token}`;
  const catalogue = join(root, 'catalogue');
  const importDir = join(root, 'import');
  const pool = join(root, 'vms');
  const jobs = join(root, 'jobs');
  for (const dir of [importDir, pool]) mkdirSync(dir, { recursive: true });
  const config = join(root, 'hvagent.yaml');
  const templates = {
    catalogue,
    import_dirs: [importDir, TEST_CATALOGUE, ...extraImportDirs],
    download_stall_s: 5,
    download_timeout_s: 120,
    max_import_mb: 256,
    ...settings,
  };
  writeFileSync(
    config,
    `${JSON.stringify({ templates, storage: { pools: { [poolName]: { plugin: 'qcow2', path: pool } } }, paths: { jobs_dir: jobs } }, null, 2)}\n`,
  );
  const env = { HVAGENT_CONFIG: config };
  return {
    root,
    catalogue,
    importDir,
    poolName,
    pool,
    jobs,
    config,
    env,
    template: (action, data, extra = {}) => stdioRpc({ agent: 'template', action, data }, { ...env, ...extra }),
    snapshot: () => {
      if (!existsSync(catalogue)) return '(no catalogue)';
      const walk = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
          const path = join(dir, entry.name);
          return entry.isDirectory() ? [`${relative(catalogue, path)}/`, ...walk(path)] : [`${relative(catalogue, path)} ${statSync(path).size}`];
        });
      const manifest = join(catalogue, 'catalogue.yaml');
      return [...walk(catalogue).sort(), existsSync(manifest) ? readFileSync(manifest, 'utf8') : '(no manifest)'].join('\n');
    },
    remove: async () => {
      const mirror = `hvagent-${poolName}`;
      await execa('virsh', ['-c', 'qemu:///system', 'pool-destroy', mirror], { reject: false });
      await execa('virsh', ['-c', 'qemu:///system', 'pool-undefine', mirror], { reject: false });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The part files of imports in progress (or killed). */
export function partFiles(sandbox: ImportSandbox): string[] {
  const dir = join(sandbox.catalogue, '.import');
  return existsSync(dir) ? readdirSync(dir) : [];
}

export async function sha256Of(file: string): Promise<string> {
  return (await execa('sha256sum', [file])).stdout.split(' ')[0]!;
}

export async function run(command: string, args: string[]): Promise<void> {
  await execa(command, args, { env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin' } });
}

/** The installer ISO of `scripts/test-templates.sh iso` (built when needed). */
export async function installerIso(): Promise<string> {
  const ran = await execa(join(REPO, 'scripts', 'test-templates.sh'), ['iso'], { timeout: 15 * 60_000, stdin: 'ignore' });
  return ran.stdout.trim().split('\n').pop()!;
}

// ---- a real HTTP server ----------------------------------------------------------------

export interface TestServer {
  /** The Authorization header of every request, in order. */
  authorizations: Array<string | undefined>;
  url(path: string): string;
  /** Serves `file` at `path` (with Content-Length unless chunked). */
  serve(path: string, file: string, options?: { chunked?: boolean }): void;
  close(): Promise<void>;
}

export async function startServer(): Promise<TestServer> {
  const files = new Map<string, { file: string; chunked: boolean }>();
  const authorizations: Array<string | undefined> = [];
  const open = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  const every = (ms: number, tick: () => void) => {
    const timer = setInterval(tick, ms);
    timers.add(timer);
    return timer;
  };
  const server: Server = createServer((request, response) => {
    open.add(response);
    response.on('close', () => open.delete(response));
    const path = (request.url ?? '/').replace(/\?.*/, '');
    authorizations.push(request.headers.authorization);
    const served = files.get(path);
    if (served) {
      const size = statSync(served.file).size;
      response.writeHead(200, { 'content-type': 'application/octet-stream', ...(!served.chunked && { 'content-length': size }) });
      createReadStream(served.file).pipe(response);
      return;
    }
    switch (path) {
      case '/page.qcow2': // what a misconfigured mirror answers with a 200
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end('<!DOCTYPE html>\n<html><body><h1>Welcome to our mirror</h1></body></html>\n');
        return;
      case '/stalls.qcow2': // a qcow2 header, then nothing, the connection held open
        response.writeHead(200, { 'content-length': 16 * 1024 * 1024 });
        response.write(readFileSync(TINY).subarray(0, 128 * 1024));
        return;
      case '/never-answers.qcow2': // accepts the connection, sends no headers
        return;
      case '/endless.raw': { // a raw disk that never ends, no length announced
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        const block = Buffer.alloc(1024 * 1024, 0x5a);
        block[510] = 0x55;
        block[511] = 0xaa;
        const pump = () => {
          while (!response.destroyed && response.write(block));
        };
        response.on('drain', pump);
        pump();
        return;
      }
      case '/trickle.qcow2': { // a byte every 100 ms: never stalled, never done
        response.writeHead(200, { 'content-length': 16 * 1024 * 1024 });
        const head = readFileSync(TINY).subarray(0, 64 * 1024);
        let at = 0;
        const timer = every(100, () => {
          if (response.destroyed) return clearInterval(timer);
          response.write(head.subarray(at, at + 1));
          at += 1;
        });
        return;
      }
      case '/announces-too-much.qcow2':
        response.writeHead(200, { 'content-length': 1024 * 1024 * 1024 * 1024 });
        response.write(readFileSync(TINY).subarray(0, 4096));
        return;
      case '/cut-short.qcow2': { // announces the whole image, sends half, closes
        const bytes = readFileSync(TINY);
        response.writeHead(200, { 'content-length': bytes.length });
        response.write(bytes.subarray(0, bytes.length >> 1), () => response.destroy());
        return;
      }
      default:
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end('not found\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    authorizations,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    serve: (path, file, options = {}) => files.set(path, { file, chunked: options.chunked ?? false }),
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const response of open) response.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on: bound, then closed. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
