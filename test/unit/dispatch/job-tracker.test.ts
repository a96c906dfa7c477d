import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HvConfig } from '../../../src/config/schema.js';
import { jobFile, listJobs, pruneJobs, readJob, RETENTION_MS, type JobRecord } from '../../../src/dispatch/job-records.js';
import { startJob, type JobOptions } from '../../../src/dispatch/job-tracker.js';
import type { RpcRequest } from '../../../src/core/request.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function jobsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hv-jobs-'));
  dirs.push(dir);
  return join(dir, 'jobs');
}

function config(dir: string): HvConfig {
  return { paths: { jobs_dir: dir } } as HvConfig;
}

const request: RpcRequest = { agent: 'vm', action: 'migrate', data: {}, requestid: 'req-1', callerid: 'choria=ops', protocol: 'choria' };

function job(dir: string, overrides: Partial<RpcRequest> = {}, options: JobOptions = {}) {
  return startJob({ ...request, ...overrides }, config(dir), { name: 'web01' }, options);
}

function fileRecord(dir: string, id: string): JobRecord {
  return JSON.parse(readFileSync(jobFile(dir, id), 'utf8')) as JobRecord;
}

/** A pid that no process has any more. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

describe('job records', () => {
  test('an action that never reports and ends quickly writes nothing, not even the directory', () => {
    const dir = jobsDir();
    job(dir).finish({ ok: true });
    job(dir).finish({ ok: false, code: 'NOT_FOUND', message: 'gone' });
    expect(existsSync(dir)).toBe(false);
  });

  test('the first report writes the record at once, named by the request id, with who asked for what', () => {
    const dir = jobsDir();
    const tracker = job(dir);
    tracker.report({ phase: 'migrating', percent: 12.345, message: 'to host2' });
    expect(readdirSync(dir)).toEqual(['req-1.json']);
    expect(fileRecord(dir, 'req-1')).toMatchObject({
      format: 1,
      job_id: 'req-1',
      request_id: 'req-1',
      agent: 'vm',
      action: 'migrate',
      target: 'web01',
      caller: 'choria=ops',
      protocol: 'choria',
      state: 'running',
      phase: 'migrating',
      percent: 12.3,
      message: 'to host2',
      finished_at: null,
      pid: process.pid,
      error_code: null,
    });
    expect(readJob(dir, 'req-1')?.state).toBe('running');
    tracker.finish({ ok: true });
    expect(fileRecord(dir, 'req-1')).toMatchObject({ state: 'succeeded', phase: 'migrating', percent: 12.3 });
    expect(fileRecord(dir, 'req-1').finished_at).toEqual(expect.any(String));
  });

  test('a failed action records its error code and message; reports after the end are ignored', () => {
    const dir = jobsDir();
    const tracker = job(dir);
    tracker.report({ phase: 'copying' });
    tracker.finish({ ok: false, code: 'DEADLINE_EXCEEDED', message: 'gave up\nafter 9 s' });
    tracker.report({ phase: 'late', percent: 99 });
    expect(fileRecord(dir, 'req-1')).toMatchObject({ state: 'failed', phase: 'copying', error_code: 'DEADLINE_EXCEEDED', error_message: 'gave up after 9 s' });
  });

  test('writes are throttled, and the last update of a burst is not lost', async () => {
    const dir = jobsDir();
    const written: Array<number | null> = [];
    const tracker = job(dir, {}, { minIntervalMs: 200, onRecord: (record) => written.push(record.percent) });
    for (let percent = 0; percent <= 100; percent += 1) tracker.report({ phase: 'copying', percent });
    expect(written).toEqual([0]);
    while (written.length < 2) await sleep(20);
    expect(written).toEqual([0, 100]);
    expect(fileRecord(dir, 'req-1').percent).toBe(100);
    tracker.finish({ ok: true });
  });

  test('an action still running after the long-action bound gets a record without reporting', async () => {
    const dir = jobsDir();
    const tracker = job(dir, {}, { longActionMs: 50 });
    while (!existsSync(jobFile(dir, 'req-1'))) await sleep(10);
    expect(fileRecord(dir, 'req-1')).toMatchObject({ state: 'running', phase: 'started', percent: null });
    tracker.finish({ ok: true });
    expect(fileRecord(dir, 'req-1').state).toBe('succeeded');
  });

  test('a request id that cannot name a file, or none, gets a generated id; the request id is kept as given', () => {
    const dir = jobsDir();
    for (const requestid of ['../../etc/passwd', '.hidden', 'a/b', 'x'.repeat(200), undefined]) {
      const tracker = job(dir, { requestid });
      tracker.report({ phase: 'copying' });
      tracker.finish({ ok: true });
    }
    const jobs = listJobs(dir);
    expect(jobs).toHaveLength(5);
    for (const found of jobs) expect(found.job_id).toMatch(/^hv-[a-z0-9]+-[a-z0-9]+-[a-z0-9]+$/);
    expect(jobs.map((found) => found.request_id).sort()).toEqual(['../../etc/passwd', '.hidden', 'a/b', 'x'.repeat(200), null].sort());
    expect(readdirSync(dir).every((name) => /^hv-[a-z0-9-]+\.json$/.test(name))).toBe(true);
  });

  test("a request id held by another live request's record is not overwritten", () => {
    const dir = jobsDir();
    job(dir).report({ phase: 'migrating' });
    const other = { ...fileRecord(dir, 'req-1'), pid: process.ppid, pid_start: null };
    writeFileSync(jobFile(dir, 'req-1'), JSON.stringify(other));
    const second = job(dir);
    second.report({ phase: 'copying' });
    expect(fileRecord(dir, 'req-1').pid).toBe(process.ppid);
    expect(listJobs(dir).map((found) => found.phase).sort()).toEqual(['copying', 'migrating']);
  });

  test('a running record whose writer is gone, or whose pid now belongs to another process, reads as lost', () => {
    const dir = jobsDir();
    job(dir).report({ phase: 'migrating' });
    const record = fileRecord(dir, 'req-1');
    writeFileSync(jobFile(dir, 'req-1'), JSON.stringify({ ...record, pid: deadPid() }));
    expect(readJob(dir, 'req-1')?.state).toBe('lost');
    writeFileSync(jobFile(dir, 'req-1'), JSON.stringify({ ...record, pid_start: (record.pid_start ?? 0) + 1 }));
    expect(readJob(dir, 'req-1')?.state).toBe('lost');
    writeFileSync(jobFile(dir, 'req-1'), JSON.stringify(record));
    expect(readJob(dir, 'req-1')?.state).toBe('running');
    writeFileSync(jobFile(dir, 'req-1'), JSON.stringify({ ...record, state: 'succeeded', pid: deadPid() }));
    expect(readJob(dir, 'req-1')?.state).toBe('succeeded');
  });

  test('old finished and lost records and stale temp files are pruned; live and recent ones stay', () => {
    const dir = jobsDir();
    const records: Record<string, Partial<JobRecord>> = {
      'old-done': { state: 'succeeded' },
      'old-abandoned': { state: 'running', pid: deadPid() },
      'old-live': { state: 'running' },
      'new-done': { state: 'failed' },
    };
    const base = (() => {
      job(dir, { requestid: 'seed' }).report({ phase: 'x' });
      return fileRecord(dir, 'seed');
    })();
    rmSync(jobFile(dir, 'seed'));
    const old = (Date.now() - RETENTION_MS - 60_000) / 1000;
    for (const [id, fields] of Object.entries(records)) {
      writeFileSync(jobFile(dir, id), JSON.stringify({ ...base, job_id: id, ...fields }));
      if (id.startsWith('old')) utimesSync(jobFile(dir, id), old, old);
    }
    writeFileSync(join(dir, 'old-done.json.123.tmp'), '{');
    utimesSync(join(dir, 'old-done.json.123.tmp'), old, old);
    expect(pruneJobs(dir)).toBe(3);
    expect(readdirSync(dir).sort()).toEqual(['new-done.json', 'old-live.json']);
  });

  test('a jobs directory that cannot be written never fails the action', () => {
    const parent = mkdtempSync(join(tmpdir(), 'hv-jobs-blocked-'));
    dirs.push(parent);
    // A file where the directory should be stops root too, whatever the modes.
    writeFileSync(join(parent, 'blocker'), '');
    const blocked = startJob(request, config(join(parent, 'blocker', 'jobs')), {}, {});
    expect(() => blocked.report({ phase: 'copying' })).not.toThrow();
    expect(() => blocked.report({ phase: 'copying', percent: 50 })).not.toThrow();
    expect(() => blocked.finish({ ok: true })).not.toThrow();
    expect(readdirSync(parent)).toEqual(['blocker']);
  });
});
