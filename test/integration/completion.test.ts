// Shell completion (completion/, generated from ddl/) in the real shells: bash through its
// completion function and `complete -p`, zsh through its completion system on a terminal
// (tmux), typing TAB as a person would. What it should offer is read from ddl/*.yaml here,
// and the VM names from a domain this test defines with virsh.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { REPO } from '../helpers/agent.js';
import { testWhen } from '../helpers/runs-here.js';
import { waitFor } from '../vm/helpers.js';

const URI = 'qemu:///system';
const BASH_SCRIPT = join(REPO, 'completion/hvagent.bash');
const ZSH_DIRECTORY = join(REPO, 'completion');
const vmName = `cli-package-${randomBytes(3).toString('hex')}`;
const work = mkdtempSync(join(tmpdir(), 'cli-package-completion-'));
const PATH = `${join(REPO, 'agent')}:${process.env.PATH ?? '/usr/bin:/bin'}`;

interface DdlAction {
  action: string;
  input: Record<string, { type: string; list?: string[] }>;
}
const ddl = (agent: string) => parse(readFileSync(join(REPO, 'ddl', `${agent}.yaml`), 'utf8'), { merge: true }) as { actions: DdlAction[] };
const actionOf = (agent: string, action: string) => ddl(agent).actions.find((each) => each.action === action)!;

beforeAll(async () => {
  const file = join(work, 'domain.xml');
  writeFileSync(file, `<domain type='qemu'><name>${vmName}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`);
  await execa('virsh', ['-c', URI, 'define', file]);
});

afterAll(async () => {
  await execa('virsh', ['-c', URI, 'undefine', vmName], { reject: false });
  rmSync(work, { recursive: true, force: true });
});

describe('bash', () => {
  /** What bash offers for the line typed so far (the cursor at its end), as bash calls the function. */
  async function offered(line: string): Promise<string[]> {
    const script = `source "$1"
      COMP_LINE=$2; COMP_POINT=\${#2}
      read -ra COMP_WORDS <<<"$2"; [[ $2 == *' ' ]] && COMP_WORDS+=('')
      COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
      _hvagent
      printf '%s\\n' "\${COMPREPLY[@]}"`;
    const ran = await execa('bash', ['-c', script, 'bash', BASH_SCRIPT, line], { env: { PATH }, extendEnv: false });
    return String(ran.stdout).split('\n').filter(Boolean).sort();
  }

  test('the script registers the completion function for hvagent', async () => {
    const ran = await execa('bash', ['-c', 'source "$1" && complete -p hvagent', 'bash', BASH_SCRIPT]);
    expect(String(ran.stdout)).toBe('complete -F _hvagent hvagent');
  });

  test('agents, then actions, then input names with "=" and the values of list inputs, as the DDL declares them', async () => {
    expect(await offered('hvagent ')).toEqual(['help', 'host', 'install', 'network', 'rpc', 'template', 'vm', 'volume']);
    expect(await offered('hvagent vm sn')).toEqual(ddl('vm').actions.map((each) => each.action).filter((name) => name.startsWith('sn')).sort());
    expect(await offered('hvagent vm create ')).toEqual(Object.keys(actionOf('vm', 'create').input).map((name) => `${name}=`).sort());
    expect(await offered('hvagent vm list state=')).toEqual([...actionOf('vm', 'list').input.state!.list!].sort());
    expect(await offered('hvagent vm list state=running ')).toEqual(Object.keys(actionOf('vm', 'list').input).filter((name) => name !== 'state').map((name) => `${name}=`).sort());
    expect(await offered('hvagent vm list details=')).toEqual(['false', 'true']);
    expect(await offered('hvagent vm list -o ')).toEqual(['json', 'table', 'yaml']);
  });

  test("a VM's name from this host", async () => {
    expect(await offered(`hvagent vm info name=${vmName.slice(0, -2)}`)).toEqual([vmName]);
  });
});

describe('zsh', () => {
  const missing = ['zsh', 'tmux'].filter((tool) => commandSucceeds('sh', ['-c', `command -v ${tool}`]) === false);
  const zshTest = testWhen(missing.length === 0, `zsh completion: ${missing.join(' and ')} not installed (HVAGENT_TEST_DEPS=1 scripts/setup.sh installs them)`);
  const session = `cli-package-zsh-${randomBytes(3).toString('hex')}`;
  const screen = async () => String((await execa('tmux', ['capture-pane', '-p', '-t', session])).stdout);
  const type = (...keys: string[]) => execa('tmux', ['send-keys', '-t', session, ...keys]);

  beforeAll(async () => {
    if (missing.length > 0) return;
    const home = join(work, 'zsh');
    await execa('mkdir', ['-p', home]);
    writeFileSync(join(home, '.zshrc'), `fpath=(${ZSH_DIRECTORY} $fpath)\nautoload -Uz compinit && compinit -u -d ${home}/zcompdump\nPS1='READY> '\n`);
    await execa('tmux', ['new-session', '-d', '-s', session, '-x', '200', '-y', '50', 'env', '-i', `HOME=${home}`, `ZDOTDIR=${home}`, 'TERM=xterm', `PATH=${PATH}`, 'zsh', '-i']);
    // tmux drops the blanks at the end of a screen line: the prompt reads "READY>".
    await waitFor(async () => (await screen()).includes('READY>') || undefined, 'the zsh prompt', 30_000);
  });
  afterAll(async () => {
    await execa('tmux', ['kill-session', '-t', session], { reject: false });
  });

  /** Types the line and TAB, then waits until the command line reads `expected`. */
  async function completes(line: string, expected: string): Promise<void> {
    await type('C-u');
    await type(line, 'Tab');
    await waitFor(async () => (await screen()).split('\n').some((row) => row.trimEnd() === `READY> ${expected}`) || undefined, `zsh to complete "${line}" to "${expected}"`, 30_000);
  }

  zshTest('an action, a list value and a VM name complete on TAB', async () => {
    await completes('hvagent vm snapshot_l', 'hvagent vm snapshot_list');
    await completes('hvagent vm list state=shu', 'hvagent vm list state=shutoff');
    await completes(`hvagent vm info name=${vmName.slice(0, -2)}`, `hvagent vm info name=${vmName}`);
  });

  zshTest('TAB after an agent lists its actions with their descriptions', async () => {
    await type('C-u');
    await type('hvagent template ', 'Tab');
    const listed = await waitFor(async () => {
      const text = await screen();
      return /^list +-- /m.test(text) && /^info +-- /m.test(text) ? text : undefined;
    }, 'the template actions listed', 30_000);
    expect(listed).toMatch(/^info +-- Describe one template/m);
  });
});

function commandSucceeds(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
