import { execa } from 'execa';
import { AGENT, agentEnv, cli } from '../helpers/agent.js';
import { hostTruth } from '../helpers/host-truth.js';

/**
 * Runs the agent with its stdout on a pipe made by perl (perl-base is in every Debian),
 * which Node's own child_process cannot make: `full`, a 4 KiB pipe set non-blocking, read only
 * once the agent has filled it (so its next write(2) fails with EAGAIN); `closed`, a pipe whose
 * reader has gone before the agent writes (EPIPE). Perl prints what it read and exits as the agent did.
 */
function throughPipe(kind: 'full' | 'closed', args: string[]) {
  const script = `
    use Fcntl;
    pipe(my $r, my $w) or die "pipe: $!";
    if ('${kind}' eq 'full') {
      fcntl($w, 1031, 4096) or die "F_SETPIPE_SZ: $!";
      fcntl($w, F_SETFL, fcntl($w, F_GETFL, 0) | O_NONBLOCK) or die "O_NONBLOCK: $!";
    } else {
      close $r;
    }
    my $pid = fork // die "fork: $!";
    if (!$pid) { open(STDOUT, '>&', $w) or die "dup: $!"; exec @ARGV or die "exec: $!"; }
    close $w;
    if ('${kind}' eq 'full') {
      my $deadline = time + 60;
      for (;;) {
        my $queued = pack('i', 0);
        ioctl($r, 0x541B, $queued) or die "FIONREAD: $!";
        last if unpack('i', $queued) >= 4096;
        die 'the agent did not fill the pipe within 60 s' if time > $deadline;
        select(undef, undef, undef, 0.05);
      }
      local $/;
      print scalar <$r>;
    }
    waitpid($pid, 0);
    exit($? >> 8);`;
  return execa('perl', ['-e', script, AGENT, ...args], { env: agentEnv(), extendEnv: false, reject: false, stdin: 'ignore' });
}

describe('command-line tool', () => {
  test('help lists agents and actions from the DDL', async () => {
    const ran = await cli(['--help']);
    expect(ran.exitCode).toBe(0);
    expect(ran.stdout).toContain('Usage:');
    expect(ran.stdout).toMatch(/host\s+Hypervisor host facts and resources/);
    expect(ran.stdout).toMatch(/info\s+Describe the host/);
  });

  test('action help shows inputs and outputs from the DDL', async () => {
    const ran = await cli(['host', 'info', '--help']);
    expect(ran.exitCode).toBe(0);
    expect(ran.stdout).toContain('Inputs: none');
    expect(ran.stdout).toMatch(/vm_classes\s+VM classes this host can run/);
  });

  test('readable output with display_as labels', async () => {
    const ran = await cli(['host', 'info']);
    expect(ran.exitCode).toBe(0);
    const truth = await hostTruth();
    expect(ran.stdout).toMatch(new RegExp(`^Hostname: +${truth.hostname}$`, 'm'));
    expect(ran.stdout).toMatch(/^VM classes: +.*qemu/m);
    // A hash is a section of its own: a heading, then indented aligned "key: value" lines.
    expect(ran.stdout).toMatch(/^CPU:\n(  [a-z_]+: +\S.*\n)*  total_cpus: +\d+$/m);
  });

  test('--json prints the reply', async () => {
    const ran = await cli(['host', 'info', '--json']);
    expect(ran.exitCode).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ statuscode: 0, statusmsg: 'OK' });
  });

  test('a bad input exits with its statuscode and says why on stderr', async () => {
    const ran = await cli(['host', 'info', 'colour=red']);
    expect(ran.exitCode).toBe(4);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toBe(
      "hvagent: host info failed [INPUT_UNDECLARED]: Input 'colour' is not declared for host#info; it takes no inputs\n" +
        'Run "hvagent host info --help" for its inputs.',
    );
  });

  test('unknown agent, action and option are usage errors', async () => {
    expect((await cli(['nosuch', 'info'])).stderr).toContain("unknown agent 'nosuch'");
    expect((await cli(['host', 'nosuch'])).stderr).toContain("unknown action 'nosuch' for agent 'host'");
    expect((await cli(['host', 'info', '--frobnicate'])).stderr).toContain('unknown option --frobnicate');
  });

  test('HVAGENT_URI chooses the connection; a bad one is refused before anything runs', async () => {
    const bad = await cli(['host', 'info'], { HVAGENT_URI: 'qemu:///system; reboot' });
    expect(bad.exitCode).toBe(5);
    expect(bad.stderr).toContain('[CONFIG_INVALID]: HVAGENT_URI: "qemu:///system; reboot" is not a libvirt URI');
  });

  test('a full, non-blocking pipe still gets the whole output; a reader that has gone ends it quietly', async () => {
    const expected = await cli(['--help']);
    expect(expected.stdout.length).toBeGreaterThan(4096);
    const full = await throughPipe('full', ['--help']);
    expect([full.exitCode, full.stderr]).toEqual([0, '']);
    expect(full.stdout).toBe(expected.stdout);
    const gone = await throughPipe('closed', ['--help']);
    expect([gone.exitCode, gone.stderr]).toEqual([0, '']);
  });

  test('an explicitly named configuration file must exist', async () => {
    const ran = await cli(['host', 'agent_info'], { HVAGENT_CONFIG: '/nonexistent/hvagent.yaml' });
    expect(ran.exitCode).toBe(5);
    expect(ran.stderr).toContain('[CONFIG_INVALID]: Cannot read configuration /nonexistent/hvagent.yaml: ENOENT');
  });
});
