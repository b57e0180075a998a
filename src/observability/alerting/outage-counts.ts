/**
 * Error-count outages (alerting_args outage_alert_ttl, minor/major_outage_alert_threshold,
 * max_outage_alert_list_size, as LiteLLM): a deployment's server-side errors count toward one outage
 * while each comes within the window of the previous one; the outage is minor at the minor threshold
 * and major at the major threshold, each told once per outage. The errors kept per deployment are
 * capped at the list size; an outage whose window passed without an error is forgotten.
 */
import type { OutageCountArgs } from './alerting-args.js';

interface Outage {
  errors: number[];
  minorSent: boolean;
  majorSent: boolean;
  lastAt: number;
}

const MAX_DEPLOYMENTS = 10_000;

export class OutageCounts {
  private readonly outages = new Map<string, Outage>();

  constructor(private readonly args: OutageCountArgs) {}

  /** A server-side error of the deployment: the outage level this error reaches first, if any. */
  error(deployment: string, now: number): { level: 'minor' | 'major'; errors: number } | undefined {
    let outage = this.outages.get(deployment);
    if (!outage || now - outage.lastAt > this.args.windowMs) {
      outage = { errors: [], minorSent: false, majorSent: false, lastAt: now };
      this.outages.delete(deployment);
      this.outages.set(deployment, outage);
      if (this.outages.size > MAX_DEPLOYMENTS) this.forgetQuiet(now);
    }
    outage.lastAt = now;
    outage.errors.push(now);
    if (outage.errors.length > this.args.maxListSize) outage.errors.shift();
    const count = outage.errors.length;
    if (count >= this.args.major && !outage.majorSent) {
      outage.majorSent = true;
      outage.minorSent = true;
      return { level: 'major', errors: count };
    }
    if (count >= this.args.minor && !outage.minorSent && count < this.args.major) {
      outage.minorSent = true;
      return { level: 'minor', errors: count };
    }
    return undefined;
  }

  get windowSeconds(): number {
    return this.args.windowMs / 1000;
  }

  private forgetQuiet(now: number): void {
    for (const [deployment, outage] of this.outages) if (now - outage.lastAt > this.args.windowMs) this.outages.delete(deployment);
    while (this.outages.size > MAX_DEPLOYMENTS) this.outages.delete(this.outages.keys().next().value!);
  }
}
