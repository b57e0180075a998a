import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, formatPlainLine } from './logger.js';

function capture(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('json: true writes one JSON object per line, secrets redacted', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ json: true, destination });
    logger.info({ model: 'gpt-4o', apiKey: 'sk-secret' }, 'routed');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, msg: 'routed', model: 'gpt-4o', apiKey: '[redacted]', service: 'switchboard' });
  });

  it('otherwise writes readable plain-text lines: time, level, message, context (secrets redacted)', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ json: false, destination });
    logger.warn({ model: 'gpt-4o', headers: { authorization: 'Bearer sk-secret' } }, 'model unavailable');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN  model unavailable \{"model":"gpt-4o","headers":\{"authorization":"\[redacted\]"\}\}$/);
    expect(() => JSON.parse(lines[0])).toThrow();
  });

  it('honours the level', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'warn', json: true, destination });
    logger.info('hidden');
    logger.error('shown');
    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['shown']);
  });

  it('formats a line without context as time, level and message only', () => {
    expect(formatPlainLine('{"level":50,"time":0,"pid":1,"hostname":"h","service":"switchboard","msg":"boom"}\n')).toBe('1970-01-01T00:00:00.000Z ERROR boom\n');
  });
});
