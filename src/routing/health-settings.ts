/**
 * Health monitor settings from general_settings and the environment:
 * - `health_check_interval` (seconds between background rounds; `LLM_HEALTH_CHECK_INTERVAL` in the
 *   environment wins; default 300; 0, or `background_health_checks: false`, turns rounds off),
 * - `health_check_timeout` (seconds per check, default 10),
 * - `health_check_degraded_threshold` (seconds: a check or first token slower than this is
 *   "degraded"; default 5),
 * - `health_check_down_retry_interval` (seconds between probes of down deployments; default 15, never
 *   more than the interval).
 */
import type { GatewayConfig } from '../config/schema.js';

export interface HealthSettings {
  intervalMs: number;
  timeoutMs: number;
  degradedThresholdMs: number;
  downProbeIntervalMs: number;
}

export const DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS = 300;

export function healthSettingsFrom(config: GatewayConfig, env: Record<string, string | undefined>): HealthSettings {
  const settings = config.general_settings;
  const fromEnv = env.LLM_HEALTH_CHECK_INTERVAL !== undefined && env.LLM_HEALTH_CHECK_INTERVAL.trim() !== '' ? Number(env.LLM_HEALTH_CHECK_INTERVAL) : undefined;
  if (fromEnv !== undefined && (!Number.isFinite(fromEnv) || fromEnv < 0)) {
    throw new Error(`LLM_HEALTH_CHECK_INTERVAL must be a number of seconds (0 or more), got "${env.LLM_HEALTH_CHECK_INTERVAL}"`);
  }
  let intervalSeconds = fromEnv ?? settings.health_check_interval ?? DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS;
  if (settings.background_health_checks === false && fromEnv === undefined) intervalSeconds = 0;
  const probeSeconds = settings.health_check_down_retry_interval ?? Math.min(15, intervalSeconds > 0 ? intervalSeconds : 15);
  return {
    intervalMs: Math.round(intervalSeconds * 1000),
    timeoutMs: Math.round((settings.health_check_timeout ?? 10) * 1000),
    degradedThresholdMs: Math.round((settings.health_check_degraded_threshold ?? 5) * 1000),
    downProbeIntervalMs: Math.round(probeSeconds * 1000),
  };
}
