/**
 * What a serving process does when it fails as a bug would: an error thrown outside any request, or
 * a promise rejected with no handler (Node raises both as uncaught errors). Node's default ends the
 * process at once, and with it the usage rows still queued for their batch — calls already answered
 * and billed upstream, gone from the ledger. Instead: the error is logged, readiness turns 503, and
 * the runtime closes as on SIGTERM without the drain grace (requests in flight finish or are cut at
 * the shutdown timeout, queued rows are written), then the process exits with code 1 so a
 * supervisor restarts it. Nothing else runs on the failed state; a second failure while closing, or
 * a close that outlasts its bound, ends the process at once — the usage rows still queued spilled to
 * disk synchronously first (written back when the gateway next starts), as cli.ts's hardStop does.
 */
import type { Logger } from 'pino';
import type { GatewayRuntime } from './gateway-runtime.js';

/** Time a failed process has to write its queued rows and close once the shutdown timeout cut what was in flight. */
const AFTER_SHUTDOWN_TIMEOUT_MS = 10_000;

const exit = (code: number) => process.exit(code);

export function stopOnUncaughtError(runtime: Pick<GatewayRuntime, 'drain' | 'close' | 'usageWriter'>, logger: Logger, options: { shutdownTimeoutMs: number; beforeClose?: () => void }): void {
  let failed = false;
  /** Exits with 1 now, after spilling the queued usage rows (best effort: a spill that throws does not keep the process up). */
  const exitAtOnce = (fields: object, message: string) => {
    try {
      let spilled: number | undefined;
      try {
        spilled = runtime.usageWriter.spillNow();
      } catch (spillError) {
        logger.error({ err: spillError }, 'could not spill the queued usage rows to disk');
      }
      logger.fatal({ ...fields, usageRowsSpilled: spilled }, message);
    } finally {
      exit(1);
    }
  };
  process.on('uncaughtException', (error, origin) => {
    if (failed) {
      exitAtOnce({ err: error, origin }, 'uncaught error while stopping after another: exiting at once, the usage rows still queued spilled to disk first');
      return;
    }
    failed = true;
    logger.fatal({ err: error, origin }, 'uncaught error: stopping — finishing requests in flight and writing queued usage records, then exiting with code 1');
    const bound = options.shutdownTimeoutMs + AFTER_SHUTDOWN_TIMEOUT_MS;
    setTimeout(() => {
      exitAtOnce({ boundMs: bound }, 'stopping after the uncaught error took too long: exiting at once, the usage rows still queued spilled to disk first');
    }, bound).unref();
    try {
      options.beforeClose?.();
      runtime.drain();
    } catch {
      // Best effort: closing below is what keeps the records.
    }
    runtime.close({ timeoutMs: options.shutdownTimeoutMs }).then(
      () => exit(1),
      (closeError: unknown) => {
        logger.error({ err: closeError }, 'shutdown after the uncaught error failed');
        exit(1);
      },
    );
  });
}
