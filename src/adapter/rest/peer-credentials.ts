import type { Socket } from 'node:net';
import { HvError } from '../../core/errors.js';
import { runProcess } from '../../process/run.js';

// The uid of the process at the other end of a unix-socket connection: SO_PEERCRED, which
// the kernel fills in at connect(2) and nobody can forge. Node has no API for it, so the
// connection's descriptor is handed down as fd 3 to perl (perl-base is Essential on Debian:
// always there), whose builtin getsockopt reads it: SOL_SOCKET = 1 and SO_PEERCRED = 17 on
// Linux x86-64 and arm64 (asm-generic/socket.h). About one perl start per connection, begun
// when the connection is accepted, so that it overlaps the request's own reading; the
// connections accepted while one perl runs share the next one.

export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/** For each descriptor from 3 on, "pid uid gid" (or "-" when it is not a socket any more). */
const SCRIPT = 'for my $fd (3 .. 2 + shift) { my $c; if (open(my $s, "+<&=", $fd)) { $c = getsockopt($s, 1, 17) } print $c ? join(" ", unpack("l3", $c)) : "-", "\\n" }';
/** Connections identified by one perl at most: many arriving together cost one process, not one each. */
const MAX_BATCH = 256;

const known = new WeakMap<Socket, Promise<PeerCredentials>>();
let batch: Array<{ socket: Socket; resolve: (credentials: PeerCredentials) => void; reject: (error: Error) => void }> = [];
/** One perl at a time: connections accepted while it runs wait for the next, together. */
let reading = false;

/** The peer of an accepted unix-socket connection (cached per connection: keep-alive asks once). */
export function peerCredentials(socket: Socket): Promise<PeerCredentials> {
  let credentials = known.get(socket);
  if (!credentials) {
    credentials = new Promise<PeerCredentials>((resolve, reject) => {
      batch.push({ socket, resolve, reject });
      if (!reading) {
        reading = true;
        setImmediate(readBatch);
      }
    });
    credentials.catch(() => undefined);
    known.set(socket, credentials);
  }
  return credentials;
}

function readBatch(): void {
  const waiting = batch.splice(0, MAX_BATCH);
  if (waiting.length === 0) {
    reading = false;
    return;
  }
  const live = waiting.filter(({ socket, reject }) => {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd === 'number' && fd >= 0) return true;
    reject(new HvError('UNAUTHENTICATED', 'The connection closed before its peer could be identified'));
    return false;
  });
  if (live.length === 0) return readBatch();
  const descriptors = live.map(({ socket }) => (socket as unknown as { _handle: { fd: number } })._handle.fd);
  runProcess('perl', ['-e', SCRIPT, String(descriptors.length)], { descriptors, timeoutMs: 10_000 }).then(
    ({ stdout }) => {
      const lines = stdout.split('\n');
      live.forEach(({ resolve, reject }, index) => {
        const [pid, uid, gid] = (lines[index] ?? '-').split(' ').map(Number);
        if ([pid, uid, gid].every((value) => Number.isInteger(value) && value! >= 0)) resolve({ pid: pid!, uid: uid!, gid: gid! });
        else reject(new HvError('UNAUTHENTICATED', 'The peer of the unix socket could not be identified (SO_PEERCRED)'));
      });
    },
    (error: unknown) => live.forEach(({ reject }) => reject(new HvError('UNAUTHENTICATED', `The peer of the unix socket could not be identified: ${(error as Error).message}`))),
  ).finally(readBatch);
}
