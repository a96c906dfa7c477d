// A private configuration (audit file, policy directory, jobs and locks) per test, and the
// audit lines as the file holds them.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AuditRecord } from '../../src/dispatch/audit.js';
import { choriaRaw, RPC_PROTOCOL, type ChoriaOptions } from './choria.js';

/** The line as src/dispatch/audit.ts writes it. */
export type AuditLine = AuditRecord;

export interface Sandbox {
  dir: string;
  config: string;
  auditFile: string;
  policyDir: string;
  /** Writes `<policy_dir>/<agent>.policy`. */
  policy(agent: string, lines: string[]): void;
  lines(): AuditLine[];
  remove(): void;
}

export interface SandboxOptions {
  /** More YAML: top-level keys other than paths, audit and authorization. */
  extra?: string;
  /** Lines under `authorization:` besides policy_dir. */
  authorization?: string[];
  /** Default: log/audit.log in the sandbox. */
  auditFile?: string;
}

export function sandbox(prefix: string, options: SandboxOptions = {}): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const auditFile = options.auditFile ?? join(dir, 'log', 'audit.log');
  const policyDir = join(dir, 'policy');
  mkdirSync(policyDir);
  const config = join(dir, 'hvagent.yaml');
  writeFileSync(
    config,
    [
      `paths: { jobs_dir: ${dir}/jobs, lock_dir: ${dir}/locks }`,
      `audit: { file: ${auditFile} }`,
      'authorization:',
      `  policy_dir: ${policyDir}`,
      ...(options.authorization ?? []).map((line) => `  ${line}`),
      options.extra ?? '',
    ].join('\n'),
  );
  return {
    dir,
    config,
    auditFile,
    policyDir,
    policy: (agent, lines) => writeFileSync(join(policyDir, `${agent}.policy`), `${lines.join('\n')}\n`),
    lines: () => (existsSync(auditFile) ? readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditLine) : []),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const newId = (tag: string) => `${tag}-${randomBytes(6).toString('hex')}`;

/** A Choria request with the request id and caller the test chooses (as its middleware would set them). */
export async function choriaRequest(options: ChoriaOptions, body: { agent: string; action: string; data: unknown; requestid?: string; callerid?: string }) {
  const request = JSON.stringify({
    $schema: 'https://choria.io/schemas/mcorpc/external/v1/rpc_request.json',
    protocol: RPC_PROTOCOL,
    agent: body.agent,
    action: body.action,
    requestid: body.requestid ?? randomBytes(16).toString('hex'),
    senderid: 'hv1.example.net',
    callerid: body.callerid ?? 'choria=operator.mcollective',
    collective: 'mcollective',
    ttl: 60,
    msgtime: Math.floor(Date.now() / 1000),
    data: body.data,
  });
  const ran = await choriaRaw(options, RPC_PROTOCOL, request, body.agent, 30_000);
  return { ...ran, reply: JSON.parse(ran.replyText) as { statuscode: number; statusmsg: string; data: Record<string, unknown> } };
}
