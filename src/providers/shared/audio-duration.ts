/**
 * The duration of an uploaded audio file, where the file states it exactly: a WAV (RIFF/WAVE,
 * PCM or any format with a byte rate) is its `data` chunk's size over the `fmt ` chunk's byte
 * rate. Other formats (mp3, m4a, ogg, webm, flac) need decoding to know it: undefined.
 */
function concatHead(chunks: Buffer[], limit: number): Buffer {
  const head: Buffer[] = [];
  let size = 0;
  for (const chunk of chunks) {
    if (size >= limit) break;
    head.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(head).subarray(0, limit);
}

/** Seconds of a WAV file (rounded up to the millisecond), or undefined when it is not one. */
export function wavSeconds(chunks: Buffer[], totalBytes: number): number | undefined {
  // The chunks before `data` are small; 64 KiB covers any real header.
  const head = concatHead(chunks, 65_536);
  if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return undefined;
  let offset = 12;
  let byteRate: number | undefined;
  while (offset + 8 <= head.length) {
    const id = head.toString('ascii', offset, offset + 4);
    const size = head.readUInt32LE(offset + 4);
    if (id === 'fmt ' && offset + 16 <= head.length) byteRate = head.readUInt32LE(offset + 8 + 8);
    if (id === 'data') {
      if (!byteRate) return undefined;
      // A streaming writer may leave the size unset (0 or 0xFFFFFFFF): the rest of the file is data.
      const dataBytes = size === 0 || size === 0xffffffff ? totalBytes - offset - 8 : Math.min(size, totalBytes - offset - 8);
      return Math.ceil((dataBytes / byteRate) * 1000) / 1000;
    }
    offset += 8 + size + (size % 2);
  }
  return undefined;
}
