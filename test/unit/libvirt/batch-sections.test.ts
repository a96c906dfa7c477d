import { describe, expect, it } from '@jest/globals';
import { splitBatchOutput } from '../../../src/libvirt/batch-sections.js';

const markers = ['M0', 'M1', 'END'];

describe('splitBatchOutput', () => {
  it('cuts both streams at their marker lines and drops the empty line `echo --err` adds', () => {
    // Exactly what virsh 9.0 printed for: echo M0; echo --err M0; uri; echo M1; echo --err M1;
    // dominfo nope; echo END; echo --err END
    const stdout = 'M0\n\ntest:///default\n\nM1\n\n\nEND\n\n';
    const stderr = "error: M0\nerror: M1\nerror: failed to get domain 'nope'\nerror: END\n";
    expect(splitBatchOutput(stdout, stderr, markers)).toEqual({
      complete: true,
      sections: [
        { stdout: 'test:///default\n\n', stderr: '' },
        { stdout: '\n', stderr: "error: failed to get domain 'nope'\n" },
      ],
    });
  });

  it('drops what virsh printed before the first marker', () => {
    const split = splitBatchOutput('warning\nM0\n\nx\nM1\n\nEND\n\n', 'error: M0\nerror: M1\nerror: END\n', markers);
    expect(split.sections[0]).toEqual({ stdout: 'x\n', stderr: '' });
  });

  it('only matches a marker as a whole line', () => {
    const stdout = 'M0\n\nnot M1\nM1x\nM1\n\nEND\n';
    const split = splitBatchOutput(stdout, 'error: M0\nerror: M1\nerror: END\n', markers);
    expect(split.sections[0]!.stdout).toBe('not M1\nM1x\n');
  });

  it('is incomplete when virsh stopped before the end marker', () => {
    const split = splitBatchOutput('M0\n\nx\nM1\n\n', 'error: M0\nerror: M1\nerror: killed\n', markers);
    expect(split.complete).toBe(false);
    expect(split.sections).toHaveLength(1);
  });

  it('is incomplete with no sections when nothing ran', () => {
    expect(splitBatchOutput('', "error: command 'x' doesn't support option --y\n", markers)).toEqual({
      complete: false,
      sections: [],
    });
  });
});
