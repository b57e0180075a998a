/**
 * The duration of an uploaded audio file, where the file states it exactly and a decoder reads it
 * the same way: a PCM or IEEE-float WAV (RIFF/WAVE, also as WAVE_FORMAT_EXTENSIBLE) holds
 * `sampleRate × blockAlign` bytes a second, `blockAlign` being `channels × bytes per sample`, and
 * its audio is every `data` chunk (a decoder such as ffmpeg's plays on past the first one).
 *
 * The client writes the header, so nothing in it is taken on trust where a decoder would read
 * otherwise: the `byteRate` field (which decoders ignore) must equal `sampleRate × blockAlign`, and
 * `blockAlign` must equal `channels × bytes per sample`; a header that disagrees with itself is
 * `invalid` (the route refuses the file) rather than priced on whichever field is smallest.
 * Compressed WAVs (ADPCM, MP3 in RIFF, A-law, …) state a byte rate a decoder does not need:
 * their duration is `unknown`, as for mp3, m4a, ogg, webm or flac, which need decoding to know it.
 */

export type WavDuration =
  /** A PCM / float WAV: its audio's duration in seconds (rounded up to the millisecond). */
  | { kind: 'seconds'; seconds: number }
  /** Not a WAV, or a compressed one: the file does not state its duration in a way to trust. */
  | { kind: 'unknown' }
  /** A PCM / float WAV whose header disagrees with itself (or with the file): `problem` says how. */
  | { kind: 'invalid'; problem: string };

/** A floor on the bitrate of compressed speech (6 kbit/s Opus): bounds the seconds of a file whose duration is unknown. */
export const MIN_AUDIO_BYTES_PER_SECOND = 750;

/** The most seconds a file of `bytes` whose duration is unknown can hold (whole seconds). */
export function audioSecondsBound(bytes: number): number {
  return Math.ceil(bytes / MIN_AUDIO_BYTES_PER_SECOND);
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT after their first two bytes (the format code). */
const SUBFORMAT_GUID_TAIL = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);
/** Beyond what any recording uses: a decoder may treat such values otherwise than this reading does. */
const MAX_SAMPLE_RATE = 768_000;
const MAX_CHANNELS = 64;
/**
 * Chunks walked at most; what follows counts as audio (an upper bound), so a file of millions of
 * tiny chunks costs no more than this to read.
 */
const MAX_CHUNKS = 4_096;

/** Reads bytes at any offset of a file held as the chunks it arrived in, without concatenating them. */
class ChunkedFile {
  private readonly starts: number[] = [];

  constructor(private readonly chunks: Buffer[]) {
    let start = 0;
    for (const chunk of chunks) {
      this.starts.push(start);
      start += chunk.length;
    }
  }

  read(offset: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    let index = this.indexAt(offset);
    let written = 0;
    while (written < length && index < this.chunks.length) {
      const chunk = this.chunks[index];
      const from = offset + written - this.starts[index];
      written += chunk.copy(out, written, from, Math.min(chunk.length, from + length - written));
      index++;
    }
    return out.subarray(0, written);
  }

  private indexAt(offset: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.starts[middle] <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}

interface Format {
  sampleRate: number;
  blockAlign: number;
}

/** The `fmt ` chunk's body: the rate a decoder plays it at, else why it is refused or unknown. */
function readFormat(body: Buffer): Format | { kind: 'unknown' } | { kind: 'invalid'; problem: string } {
  let format = body.readUInt16LE(0);
  const channels = body.readUInt16LE(2);
  const sampleRate = body.readUInt32LE(4);
  const byteRate = body.readUInt32LE(8);
  const blockAlign = body.readUInt16LE(12);
  const bits = body.readUInt16LE(14);
  if (format === WAVE_FORMAT_EXTENSIBLE) {
    if (body.length < 40) return { kind: 'invalid', problem: 'its WAVE_FORMAT_EXTENSIBLE "fmt " chunk is shorter than 40 bytes' };
    if (!body.subarray(26, 40).equals(SUBFORMAT_GUID_TAIL)) return { kind: 'unknown' };
    format = body.readUInt16LE(24);
  }
  if (format !== WAVE_FORMAT_PCM && format !== WAVE_FORMAT_IEEE_FLOAT) return { kind: 'unknown' };
  if (channels < 1 || channels > MAX_CHANNELS) return { kind: 'invalid', problem: `it states ${channels} channels (1 to ${MAX_CHANNELS} are taken)` };
  if (sampleRate < 1 || sampleRate > MAX_SAMPLE_RATE) return { kind: 'invalid', problem: `it states a sample rate of ${sampleRate} Hz (1 to ${MAX_SAMPLE_RATE} are taken)` };
  const bitsValid = format === WAVE_FORMAT_PCM ? bits >= 1 && bits <= 64 : bits === 32 || bits === 64;
  if (!bitsValid) return { kind: 'invalid', problem: `it states ${bits} bits per sample for ${format === WAVE_FORMAT_PCM ? 'PCM (1 to 64 are taken)' : 'float samples (32 or 64 are taken)'}` };
  const expectedAlign = channels * Math.ceil(bits / 8);
  if (blockAlign !== expectedAlign) return { kind: 'invalid', problem: `its block align (${blockAlign}) is not channels × bytes per sample (${channels} × ${Math.ceil(bits / 8)} = ${expectedAlign})` };
  if (byteRate !== sampleRate * blockAlign) return { kind: 'invalid', problem: `its byte rate (${byteRate}) is not sample rate × block align (${sampleRate} × ${blockAlign} = ${sampleRate * blockAlign})` };
  return { sampleRate, blockAlign };
}

/** The duration of a WAV file as a decoder plays it, `unknown` for other (and compressed) files, or why its header cannot be trusted. */
export function wavDuration(chunks: Buffer[], totalBytes: number): WavDuration {
  const file = new ChunkedFile(chunks);
  const head = file.read(0, 12);
  if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return { kind: 'unknown' };
  let format: Format | undefined;
  let dataBytes = 0;
  let sawData = false;
  let offset = 12;
  for (let walked = 0; offset + 8 <= totalBytes; walked++) {
    if (walked === MAX_CHUNKS) {
      if (!format) return { kind: 'invalid', problem: `it has more than ${MAX_CHUNKS} chunks before its "fmt " chunk` };
      dataBytes += totalBytes - offset;
      sawData = true;
      break;
    }
    const header = file.read(offset, 8);
    const id = header.toString('ascii', 0, 4);
    const size = header.readUInt32LE(4);
    const body = offset + 8;
    const remaining = totalBytes - body;
    if (id === 'fmt ') {
      if (format) return { kind: 'invalid', problem: 'it has two "fmt " chunks' };
      if (sawData) return { kind: 'invalid', problem: 'its "fmt " chunk comes after audio data' };
      if (size < 16 || size > remaining) return { kind: 'invalid', problem: `its "fmt " chunk is ${size < 16 ? 'shorter than 16 bytes' : 'cut short by the end of the file'}` };
      const read = readFormat(file.read(body, Math.min(size, 40)));
      if (!('sampleRate' in read)) return read;
      format = read;
    } else if (id === 'data') {
      if (!format) return { kind: 'invalid', problem: 'its "data" chunk comes before its "fmt " chunk' };
      sawData = true;
      // A streaming writer may leave the size unset (0 or 0xFFFFFFFF), and a cut recording may
      // state more than it holds: the rest of the file is then audio.
      if (size === 0 || size === 0xffffffff || size >= remaining) {
        dataBytes += remaining;
        break;
      }
      dataBytes += size;
    } else if (size > remaining) {
      // A chunk past the end of the file: what follows cannot be told from audio, so it counts as audio.
      if (!format) return { kind: 'invalid', problem: `its "${id.replace(/[^\x20-\x7e]/g, '?')}" chunk runs past the end of the file` };
      dataBytes += remaining;
      sawData = true;
      break;
    }
    offset = body + size + (size % 2);
  }
  if (!format) return { kind: 'invalid', problem: 'it has no "fmt " chunk' };
  if (!sawData) return { kind: 'invalid', problem: 'it has no "data" chunk' };
  // In integers as far as they go, so a whole number of seconds comes out whole.
  return { kind: 'seconds', seconds: Math.ceil((dataBytes * 1000) / (format.sampleRate * format.blockAlign)) / 1000 };
}
