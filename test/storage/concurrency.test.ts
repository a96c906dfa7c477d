// Many agent processes at once on one pool: exactly one of two racing creates of a volume
// wins, the other is a CONFLICT, and the winner's image is intact; parallel creates
// cannot together pass a pool's max_total_mb.
import { execa } from 'execa';
import { replyOf } from '../vm/helpers.js';
import { MIB, qemuImgInfo, StorageSandbox } from './helpers.js';

const box = new StorageSandbox({ qcow: { plugin: 'qcow2' }, capped: { plugin: 'raw', max_total_mb: 150 } });
afterAll(() => box.cleanup());

test('two parallel creates of one volume: one wins, one CONFLICT, nothing lost or left half-made', async () => {
  const pool = box.pool('qcow');
  for (let round = 0; round < 3; round += 1) {
    const name = `race${round}`;
    const ran = await Promise.all([64, 96].map((size) => box.spawnVolume('create', { pool, name, size_mb: size })));
    const replies = ran.map(replyOf);
    const winners = replies.filter((reply) => reply.statuscode === 0);
    const losers = replies.filter((reply) => reply.statuscode !== 0);
    expect(winners).toHaveLength(1);
    expect(losers).toEqual([expect.objectContaining({ statuscode: 1, data: expect.objectContaining({ error_code: 'CONFLICT' }) })]);
    // The volume on disk is the winner's, whole.
    const path = box.volumePath('qcow', name);
    expect((await qemuImgInfo(path, 'qcow2'))['virtual-size']).toBe((winners[0]!.data.capacity_mb as number) * MIB);
    expect((await execa('qemu-img', ['check', '-q', '-f', 'qcow2', path], { reject: false })).exitCode).toBe(0);
  }
  // No temporary parts left behind.
  expect(box.entries('qcow')).toEqual(['race0', 'race1', 'race2']);
});

test('parallel creates of different volumes cannot together pass max_total_mb', async () => {
  const pool = box.pool('capped');
  const ran = await Promise.all(['a', 'b', 'c', 'd'].map((name) => box.spawnVolume('create', { pool, name, size_mb: 60 })));
  const codes = ran.map(replyOf).map((reply) => (reply.statuscode === 0 ? 'ok' : String(reply.data.error_code)));
  expect(codes.filter((code) => code === 'ok')).toHaveLength(2);
  expect(codes.filter((code) => code === 'QUOTA_EXCEEDED')).toHaveLength(2);
  expect(box.entries('capped')).toHaveLength(2);
});
