// Bundled by host-facts.test.ts and run in a separate process (in a mount namespace
// without libvirtd's socket) to show that qemu:///embed needs no daemon.
import { readHostFacts } from '../../../src/monitoring/host-facts.js';

const uri = process.argv[2];
if (!uri) throw new Error('usage: print-host-facts URI');
process.stdout.write(JSON.stringify(await readHostFacts({ uri })));
