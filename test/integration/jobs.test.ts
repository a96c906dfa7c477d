import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, stdioRpc } from '../helpers/agent.js';

// Job records cost nothing for actions that do not report progress: the jobs directory
// is not even created (test/migration shows records of a real long action).

const root = mkdtempSync(join(tmpdir(), 'hv-jobs-it-'));
const jobsDir = join(root, 'jobs');
const config = join(root, 'hvagent.yaml');
writeFileSync(config, `paths:\n  jobs_dir: ${jobsDir}\n`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('quick actions, failed or not, through stdio and the CLI leave no job record', async () => {
  const env = { HVAGENT_CONFIG: config };
  expect((await stdioRpc({ agent: 'host', action: 'agent_info', requestid: 'r1' }, env)).statuscode).toBe(0);
  expect((await stdioRpc({ agent: 'vm', action: 'info', requestid: 'r2', data: { name: 't-no-such-vm' } }, env)).data.error_code).toBe('NOT_FOUND');
  expect((await stdioRpc({ agent: 'vm', action: 'migrate', data: { name: 't-no-such-vm', destination: 'qemu+tcp://localhost/system' } }, env)).data.error_code).toBe('INVALID_ARGUMENT');
  const shown = await cli(['host', 'agent_info', '--progress'], env);
  expect(shown.exitCode).toBe(0);
  expect(shown.stderr).toBe('');
  expect(existsSync(jobsDir)).toBe(false);
});
