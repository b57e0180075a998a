/** One alert as every destination receives it (Slack text and the webhook's JSON are built from it). */
export type AlertType = 'outage_alerts' | 'llm_exceptions' | 'llm_too_slow' | 'budget_alerts' | 'daily_reports' | 'spend_reports';
export const BUILT_ALERT_TYPES: AlertType[] = ['outage_alerts', 'llm_exceptions', 'llm_too_slow', 'budget_alerts', 'daily_reports', 'spend_reports'];

export interface Alert {
  alert_type: AlertType;
  level: 'High' | 'Medium' | 'Low';
  message: string;
  /** Epoch seconds. */
  timestamp: number;
  model_group: string | null;
  deployment: string | null;
  provider: string | null;
  /** The condition's key: alerts with the same key within the dedupe window are sent once. */
  condition: string;
}
