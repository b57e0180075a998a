import { describe, expect, it } from 'vitest';
import { wavSeconds } from './audio-duration.js';

function wav(dataBytes: number, byteRate: number, extraChunk = false, declaredSize = dataBytes): Buffer {
  const extra = extraChunk ? Buffer.concat([Buffer.from('LIST'), Buffer.from([5, 0, 0, 0]), Buffer.from('abcde'), Buffer.from([0])]) : Buffer.alloc(0);
  const header = Buffer.alloc(36);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(28 + extra.length + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(byteRate / 2, 24);
  header.writeUInt32LE(byteRate, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  const data = Buffer.alloc(8);
  data.write('data', 0, 'ascii');
  data.writeUInt32LE(declaredSize, 4);
  return Buffer.concat([header, extra, data, Buffer.alloc(dataBytes)]);
}

describe('wavSeconds', () => {
  it('reads the duration from the data chunk and the byte rate, across chunks and odd-sized chunks before data', () => {
    const file = wav(64_000, 32_000, true);
    expect(wavSeconds([file], file.length)).toBe(2);
    expect(wavSeconds([file.subarray(0, 10), file.subarray(10, 50), file.subarray(50)], file.length)).toBe(2);
  });

  it('takes the rest of the file when a streaming writer left the data size unset', () => {
    const file = wav(48_000, 32_000, false, 0xffffffff);
    expect(wavSeconds([file], file.length)).toBe(1.5);
  });

  it('knows nothing of other formats', () => {
    expect(wavSeconds([Buffer.from('ID3\u0004\u0000\u0000\u0000\u0000\u0000\u0000 mp3 frames')], 20)).toBeUndefined();
    expect(wavSeconds([Buffer.alloc(4)], 4)).toBeUndefined();
  });
});
