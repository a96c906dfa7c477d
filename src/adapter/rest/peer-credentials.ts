import type { Socket } from 'node:net';
import { HvError } from '../../core/errors.js';
import { runProcess } from '../../process/run.js';

// The uid of the process at the other end of a unix-socket connection: SO_PEERCRED, which
// the kernel fills in at connect(2) and nobody can forge. Node has no API for it, so the
// connection's descriptor is handed down as fd 3 to perl (perl-base is Essential on Debian:
// always there), whose builtin getsockopt reads it: SOL_SOCKET = 1 and SO_PEERCRED = 17 on
// Linux x86-64 and arm64 (asm-generic/socket.h). About one perl start per connection, begun
// when the connection is accepted, so that it overlaps the request's own reading.

export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

const SCRIPT = 'open(my $s, "+<&=", 3) or exit 2; my $c = getsockopt($s, 1, 17) or exit 3; print join(" ", unpack("l3", $c)), "\\n";';
const known = new WeakMap<Socket, Promise<PeerCredentials>>();

/** The peer of an accepted unix-socket connection (cached per connection: keep-alive asks once). */
export function peerCredentials(socket: Socket): Promise<PeerCredentials> {
  let credentials = known.get(socket);
  if (!credentials) {
    credentials = readPeerCredentials(socket);
    credentials.catch(() => undefined);
    known.set(socket, credentials);
  }
  return credentials;
}

async function readPeerCredentials(socket: Socket): Promise<PeerCredentials> {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new HvError('UNAUTHENTICATED', 'The connection closed before its peer could be identified');
  const { stdout } = await runProcess('perl', ['-e', SCRIPT], { descriptors: [fd], timeoutMs: 10_000 });
  const [pid, uid, gid] = stdout.trim().split(' ').map(Number);
  if (![pid, uid, gid].every((value) => Number.isInteger(value) && value! >= 0)) {
    throw new HvError('UNAUTHENTICATED', 'The peer of the unix socket could not be identified (SO_PEERCRED)');
  }
  return { pid: pid!, uid: uid!, gid: gid! };
}
