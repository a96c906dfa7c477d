import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import { refusalSettings } from '../../../src/config/refusal.js';
import { configValidator } from '../../../src/ddl/registry.js';

// A refused request's audit line needs only the audit settings and the trusted middleware
// uids. Where the file sets nothing they are the defaults, read without the loader; where it
// sets anything, the whole configuration is loaded, so the refusal is recorded as it says.

const root = mkdtempSync(join(tmpdir(), 'hv-refusal-settings-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(root, name);
  writeFileSync(path, text);
  return path;
}

test('the schema takes an empty configuration, which is why a file that sets nothing skips the validator', () => {
  expect(configValidator()({})).toBe(true);
});

test('a file of comments only gives the defaults, as the full loader does', async () => {
  const env = { HVAGENT_CONFIG: file('comments.yaml', '# hvagent.yaml\n#audit:\n#  file: /elsewhere.log\n\n') };
  const settings = await refusalSettings(env);
  expect(settings.audit).toEqual({ enabled: true, file: '/var/log/hvagent/audit.log', syslog: false });
  expect(settings.authorization.middleware_uids).toEqual([0]);
  const full = await loadConfig(env);
  expect(settings.audit).toEqual(full.audit);
  expect(settings.authorization.middleware_uids).toEqual(full.authorization.middleware_uids);
});

test('a file that sets the audit log and the middleware uids is obeyed', async () => {
  const env = { HVAGENT_CONFIG: file('set.yaml', 'audit:\n  file: /srv/audit/hv.log\n  syslog: true\nauthorization:\n  middleware_uids: [0, 994]\n') };
  const settings = await refusalSettings(env);
  expect(settings.audit).toEqual({ enabled: true, file: '/srv/audit/hv.log', syslog: true });
  expect(settings.authorization.middleware_uids).toEqual([0, 994]);
});

test('an invalid file is CONFIG_INVALID, as for any other request, and a named file that is missing too', async () => {
  await expect(refusalSettings({ HVAGENT_CONFIG: file('bad.yaml', 'audit:\n  nonsense: 1\n') })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  await expect(refusalSettings({ HVAGENT_CONFIG: join(root, 'absent.yaml') })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
});

test("Choria's plugin config names the file", async () => {
  const config = file('choria-named.yaml', 'audit:\n  enabled: false\n');
  const plugin = file('plugin.cfg', `config = ${config}\n`);
  expect((await refusalSettings({ CHORIA_EXTERNAL_CONFIG: plugin })).audit?.enabled).toBe(false);
});
