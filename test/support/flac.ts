/** A FLAC file of digital silence (constant subframes): minutes of audio in a few kilobytes. */
function crc8(bytes: number[]): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}
function crc16(bytes: number[]): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
function utf8Number(value: number): number[] {
  if (value < 0x80) return [value];
  if (value < 0x800) return [0xc0 | (value >> 6), 0x80 | (value & 0x3f)];
  return [0xe0 | (value >> 12), 0x80 | ((value >> 6) & 0x3f), 0x80 | (value & 0x3f)];
}

/** `seconds` of 16 kHz mono 16-bit digital silence as FLAC, in blocks of 65,535 samples. */
export function silentFlac(seconds: number, rate = 16_000): Buffer {
  const total = seconds * rate;
  const block = 65_535;
  const bytes: number[] = [...Buffer.from('fLaC', 'ascii'), 0x80, 0x00, 0x00, 0x22];
  // STREAMINFO: min/max block size, min/max frame size (0: unknown), rate(20) channels-1(3) bps-1(5) total(36), MD5 0.
  bytes.push(block >> 8, block & 0xff, block >> 8, block & 0xff, 0, 0, 0, 0, 0, 0);
  const packed = (BigInt(rate) << 44n) | (0n << 41n) | (15n << 36n) | BigInt(total);
  for (let shift = 56n; shift >= 0n; shift -= 8n) bytes.push(Number((packed >> shift) & 0xffn));
  for (let i = 0; i < 16; i++) bytes.push(0);
  let frame = 0;
  for (let done = 0; done < total; done += block, frame++) {
    const size = Math.min(block, total - done);
    const header = [0xff, 0xf8, (0b0111 << 4) | (rate === 8_000 ? 0b0100 : 0b0101), 0b0000_1000, ...utf8Number(frame), (size - 1) >> 8, (size - 1) & 0xff];
    header.push(crc8(header));
    const body = [...header, 0x00, 0x00, 0x00];
    const crc = crc16(body);
    bytes.push(...body, crc >> 8, crc & 0xff);
  }
  return Buffer.from(bytes);
}

