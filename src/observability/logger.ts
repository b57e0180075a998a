import pino, { type DestinationStream, type Logger } from 'pino';

/** Every place a secret could sit in a log object; pino replaces them with "[redacted]". */
export const REDACT_PATHS = [
  'authorization',
  'apiKey',
  'api_key',
  'masterKey',
  'master_key',
  'key',
  'password',
  '*.authorization',
  '*.Authorization',
  '*.apiKey',
  '*.api_key',
  '*.masterKey',
  '*.master_key',
  '*["x-api-key"]',
  '*["api-key"]',
  '*["x-goog-api-key"]',
  '*["x-litellm-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers["api-key"]',
  '*.headers["x-goog-api-key"]',
  // AWS credentials of Bedrock deployments and the SigV4 session token header.
  'aws',
  '*.aws',
  '*.aws_secret_access_key',
  '*.aws_session_token',
  '*["x-amz-security-token"]',
  '*["X-Amz-Security-Token"]',
  '*.headers["x-litellm-api-key"]',
];

export interface LoggerOptions {
  /** pino level; default `info` (the CLI passes LOG_LEVEL through the runtime settings). */
  level?: string;
  /** One JSON object per line (for log collectors); otherwise one readable plain-text line per entry. */
  json?: boolean;
  /** Where lines go; default standard output. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'switchboard' },
  };
  if (options.json) return options.destination ? pino(settings, options.destination) : pino(settings);
  return pino(settings, plainLines(options.destination ?? process.stdout));
}

/** pino's own fields; everything else on a line is the caller's context, kept after the message. */
const FRAME_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);

/**
 * Rewrites pino's JSON lines (already redacted) as `2026-01-31T12:00:00.000Z INFO  message {context}`,
 * for people reading a terminal. Built here rather than with a pretty-printer package: one small
 * function, no worker thread, and lines are written in order with the rest of the output.
 */
export function plainLines(target: { write(text: string): unknown }): DestinationStream {
  return {
    write(line: string) {
      target.write(formatPlainLine(line));
    },
  };
}

export function formatPlainLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString() : '';
  const level = (typeof entry.level === 'number' ? (pino.levels.labels[entry.level] ?? String(entry.level)) : String(entry.level)).toUpperCase();
  const context = Object.fromEntries(Object.entries(entry).filter(([key]) => !FRAME_FIELDS.has(key)));
  const details = Object.keys(context).length > 0 ? ` ${JSON.stringify(context)}` : '';
  return `${time} ${level.padEnd(5)} ${typeof entry.msg === 'string' ? entry.msg : ''}${details}\n`;
}

export type { Logger };
