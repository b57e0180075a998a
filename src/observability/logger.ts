import pino, { type Logger } from 'pino';

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
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers["api-key"]',
  '*.headers["x-goog-api-key"]',
];

export function createLogger(options: { level?: string; json?: boolean } = {}): Logger {
  return pino({
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'switchboard' },
  });
}

export type { Logger };
