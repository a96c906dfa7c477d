// Swaps two paths back and forth until stopped, each swap atomic (renameat2 with
// RENAME_EXCHANGE, through perl's syscall: Node has no binding), so that each path always
// names one of the two files, never nothing: what an attacker racing hvagent would do.
import { execa } from 'execa';

const RENAMEAT2: Partial<Record<string, number>> = { x64: 316, arm64: 276 };

export function exchangeLoop(a: string, b: string, pauseSeconds = 0.0005) {
  const syscall = RENAMEAT2[process.arch];
  if (syscall === undefined) throw new Error(`no renameat2 syscall number known for ${process.arch}`);
  const script = `
    my ($a, $b) = @ARGV; my $stop = 0; my $swaps = 0;
    $SIG{TERM} = sub { $stop = 1 };
    until ($stop) {
      syscall(${syscall}, -100, $a, -100, $b, 2) == 0 or die "exchange: $!";
      select(undef, undef, undef, ${pauseSeconds});
      syscall(${syscall}, -100, $a, -100, $b, 2) == 0 or die "exchange back: $!";
      select(undef, undef, undef, ${pauseSeconds});
      $swaps++;
    }
    print $swaps;`;
  const child = execa('perl', ['-e', script, a, b]);
  return {
    /** Stops after a whole swap and back (both paths as they were); resolves to the number of swaps. */
    stop: async (): Promise<number> => {
      child.kill('SIGTERM');
      return Number((await child).stdout);
    },
  };
}
