import { describe, expect, it } from 'vitest';
import { audioSecondsBound, wavDuration } from './audio-duration.js';

interface WavOptions {
  format?: number;
  channels?: number;
  sampleRate?: number;
  bits?: number;
  /** Overrides sampleRate × blockAlign. */
  byteRate?: number;
  /** Overrides channels × bits / 8. */
  blockAlign?: number;
  /** Chunks after `fmt `, in order: `data` chunks are given by their byte count, others as [id, bytes]. */
  chunks?: Array<number | [string, Buffer]>;
  /** The first data chunk's declared size, when it is not its length (0xFFFFFFFF: unset). */
  declaredSize?: number;
  /** A WAVE_FORMAT_EXTENSIBLE header whose subformat is this format code. */
  extensible?: number;
  /** Bytes 2..16 of the subformat GUID, when not KSDATAFORMAT's. */
  guidTail?: Buffer;
}

const GUID_TAIL = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);

function chunk(id: string, body: Buffer, declared = body.length): Buffer {
  const head = Buffer.alloc(8);
  head.write(id, 0, 'ascii');
  head.writeUInt32LE(declared, 4);
  return Buffer.concat([head, body, body.length % 2 === 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

function wav(options: WavOptions = {}): Buffer {
  const channels = options.channels ?? 1;
  const sampleRate = options.sampleRate ?? 16_000;
  const bits = options.bits ?? 16;
  const blockAlign = options.blockAlign ?? channels * Math.ceil(bits / 8);
  const fmt = Buffer.alloc(options.extensible === undefined ? 16 : 40);
  fmt.writeUInt16LE(options.extensible === undefined ? (options.format ?? 1) : 0xfffe, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(sampleRate, 4);
  fmt.writeUInt32LE(options.byteRate ?? sampleRate * blockAlign, 8);
  fmt.writeUInt16LE(blockAlign, 12);
  fmt.writeUInt16LE(bits, 14);
  if (options.extensible !== undefined) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(bits, 18);
    fmt.writeUInt16LE(options.extensible, 24);
    (options.guidTail ?? GUID_TAIL).copy(fmt, 26);
  }
  let first = true;
  const rest = (options.chunks ?? [32_000]).map((item) => {
    if (typeof item !== 'number') return chunk(item[0], item[1]);
    const declared = first && options.declaredSize !== undefined ? options.declaredSize : item;
    first = false;
    return chunk('data', Buffer.alloc(item, 1), declared);
  });
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), ...rest]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

const durationOf = (file: Buffer) => wavDuration([file], file.length);

describe('wavDuration', () => {
  it('reads a PCM WAV as a decoder does: data bytes over sample rate × block align, across chunks and odd-sized chunks before data', () => {
    const file = wav({ chunks: [['LIST', Buffer.from('abcde')], 64_000] });
    expect(durationOf(file)).toEqual({ kind: 'seconds', seconds: 2 });
    expect(wavDuration([file.subarray(0, 10), file.subarray(10, 50), file.subarray(50)], file.length)).toEqual({ kind: 'seconds', seconds: 2 });
    expect(durationOf(wav({ channels: 2, sampleRate: 44_100, bits: 24, chunks: [264_600] }))).toEqual({ kind: 'seconds', seconds: 1 });
    // 32-bit float, and WAVE_FORMAT_EXTENSIBLE with a PCM subformat.
    expect(durationOf(wav({ format: 3, bits: 32, chunks: [64_000] }))).toEqual({ kind: 'seconds', seconds: 1 });
    expect(durationOf(wav({ extensible: 1, channels: 2, chunks: [64_000] }))).toEqual({ kind: 'seconds', seconds: 1 });
  });

  it('refuses a byte rate that disagrees with sample rate × block align instead of dividing by it', () => {
    // F1: the lying byteRate made a 120 s file read as a fraction of a second.
    const lying = durationOf(wav({ byteRate: 0xffffffff, chunks: [32_000 * 120] }));
    expect(lying.kind).toBe('invalid');
    expect((lying as { problem: string }).problem).toMatch(/byte rate \(4294967295\) is not sample rate × block align \(16000 × 2 = 32000\)/);
    // A lower byte rate (a longer reading) is refused as well: the header disagrees with itself.
    expect(durationOf(wav({ byteRate: 8_000 })).kind).toBe('invalid');
  });

  it('refuses a block align that is not channels × bytes per sample, and values no decoder takes alike', () => {
    expect((durationOf(wav({ blockAlign: 64 })) as { problem: string }).problem).toMatch(/block align \(64\)/);
    expect((durationOf(wav({ channels: 0, blockAlign: 2 })) as { problem: string }).problem).toMatch(/0 channels/);
    expect((durationOf(wav({ sampleRate: 0 })) as { problem: string }).problem).toMatch(/sample rate of 0 Hz/);
    expect((durationOf(wav({ sampleRate: 1_000_000 })) as { problem: string }).problem).toMatch(/sample rate of 1000000 Hz/);
    expect((durationOf(wav({ format: 3, bits: 16 })) as { problem: string }).problem).toMatch(/16 bits per sample for float/);
    expect((durationOf(wav({ bits: 0, blockAlign: 1 })) as { problem: string }).problem).toMatch(/0 bits per sample/);
  });

  it('refuses a header out of order or missing a part', () => {
    const dataFirst = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVE'), chunk('data', Buffer.alloc(100)), wav().subarray(12)]);
    expect((durationOf(dataFirst) as { problem: string }).problem).toMatch(/"data" chunk comes before its "fmt " chunk/);
    const noData = wav({ chunks: [['LIST', Buffer.from('abcd')]] });
    expect((durationOf(noData) as { problem: string }).problem).toMatch(/no "data" chunk/);
    const twoFormats = wav({ chunks: [['fmt ', wav().subarray(20, 36)], 32_000] });
    expect((durationOf(twoFormats) as { problem: string }).problem).toMatch(/two "fmt " chunks/);
    const noFormat = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVE'), chunk('LIST', Buffer.from('abcd'))]);
    expect((durationOf(noFormat) as { problem: string }).problem).toMatch(/no "fmt " chunk/);
  });

  it('counts every data chunk, as a decoder plays on past the first', () => {
    expect(durationOf(wav({ chunks: [32_000, ['LIST', Buffer.from('x')], 32_000 * 9] }))).toEqual({ kind: 'seconds', seconds: 10 });
  });

  it('takes the rest of the file when the data size is unset, larger than the file, or a later chunk runs past its end', () => {
    expect(durationOf(wav({ chunks: [48_000], declaredSize: 0xffffffff }))).toEqual({ kind: 'seconds', seconds: 1.5 });
    expect(durationOf(wav({ chunks: [48_000], declaredSize: 0 }))).toEqual({ kind: 'seconds', seconds: 1.5 });
    expect(durationOf(wav({ chunks: [48_000], declaredSize: 1_000_000 }))).toEqual({ kind: 'seconds', seconds: 1.5 });
    // A declared data size of 16 bytes, then a chunk that claims far more than the file holds: the rest counts as audio.
    const file = wav({ chunks: [16] });
    const overrun = Buffer.concat([file, Buffer.from('junk'), Buffer.from([0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(32_000 - 8 - 16)]);
    expect(durationOf(overrun)).toEqual({ kind: 'seconds', seconds: 1 });
  });

  it('does not trust a compressed WAV\'s header: its duration is unknown, as for other formats', () => {
    // IMA ADPCM, MP3 in RIFF, A-law: the byte rate they state is not what a decoder plays them at.
    for (const format of [0x11, 0x55, 0x06]) expect(durationOf(wav({ format, byteRate: 0xffffffff }))).toEqual({ kind: 'unknown' });
    expect(durationOf(wav({ extensible: 0x11 }))).toEqual({ kind: 'unknown' });
    expect(durationOf(wav({ extensible: 1, guidTail: Buffer.alloc(14, 7) }))).toEqual({ kind: 'unknown' });
  });

  it('knows nothing of other formats', () => {
    expect(durationOf(Buffer.from('ID3\u0004\u0000\u0000\u0000\u0000\u0000\u0000 mp3 frames'))).toEqual({ kind: 'unknown' });
    expect(durationOf(Buffer.alloc(4))).toEqual({ kind: 'unknown' });
  });

  it('walks a file of many tiny chunks in bounded time, counting what is left as audio', () => {
    const tiny = Array.from({ length: 10_000 }, () => ['JUNK', Buffer.alloc(0)] as [string, Buffer]);
    const file = wav({ chunks: [...tiny, 32_000] });
    const started = performance.now();
    const duration = durationOf(file);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(duration.kind).toBe('seconds');
    expect((duration as { seconds: number }).seconds).toBeGreaterThanOrEqual(1);
  });
});

describe('audioSecondsBound', () => {
  it('allows one second per 750 bytes, in whole seconds', () => {
    expect(audioSecondsBound(750)).toBe(1);
    expect(audioSecondsBound(751)).toBe(2);
  });
});
