import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { SettledSpend } from '../../auth/admission.js';
import { Alerting } from './alerting.js';

const logger = pino({ level: 'silent' });

function spend(spentMicros: number, period = 0, extra: Partial<SettledSpend> = {}): SettledSpend {
  return { kind: 'key', id: 'k1', name: 'key "ci"', period, spentMicros, maxBudgetMicros: 1_000_000, softBudgetMicros: 500_000, exhausted: false, ...extra };
}

describe('budget alerts', () => {
  it('alerts the soft budget, 80 % and exhaustion once each per holder per budget period, whatever the number of calls', () => {
    let now = 10_000_000;
    const alerting = Alerting.fromSettings({ alerting: ['webhook'] }, { WEBHOOK_URL: 'http://127.0.0.1:9/alerts' }, logger, {}, () => now)!;
    const queued = () => alerting.snapshot()[0].queued;
    alerting.budgetSpent(spend(400_000));
    expect(queued()).toBe(0);
    for (let i = 0; i < 5; i++) alerting.budgetSpent(spend(500_000 + i));
    expect(queued()).toBe(1);
    for (let i = 0; i < 5; i++) alerting.budgetSpent(spend(800_000 + i));
    expect(queued()).toBe(2);
    // Past the hourly dedup window: the same period still never alerts again.
    now += 3 * 60 * 60 * 1000;
    alerting.budgetSpent(spend(900_000));
    expect(queued()).toBe(2);
    alerting.budgetSpent(spend(950_000, 0, { exhausted: true }));
    alerting.budgetSpent(spend(1_000_000));
    expect(queued()).toBe(3);
    // Another holder, and a new budget period, alert again.
    alerting.budgetSpent(spend(600_000, 0, { id: 'k2' }));
    expect(queued()).toBe(4);
    alerting.budgetSpent(spend(850_000, 86_400_000));
    expect(queued()).toBe(6);
  });

  it('sends one exhaustion alert, not an 80 % one too, when one call takes the spend from under 80 % to the whole budget', () => {
    const alerting = Alerting.fromSettings({ alerting: ['webhook'] }, { WEBHOOK_URL: 'http://127.0.0.1:9/alerts' }, logger, {}, () => 1)!;
    alerting.budgetSpent(spend(1_200_000, 0, { softBudgetMicros: null }));
    alerting.budgetSpent(spend(1_300_000, 0, { softBudgetMicros: null }));
    expect(alerting.snapshot()[0].queued).toBe(1);
  });

  it('is off unless budget_alerts is among the alert types', () => {
    const alerting = Alerting.fromSettings({ alerting: ['webhook'], alert_types: ['llm_exceptions'] }, { WEBHOOK_URL: 'http://127.0.0.1:9/alerts' }, logger, {}, () => 1)!;
    alerting.budgetSpent(spend(2_000_000));
    expect(alerting.snapshot()[0].queued).toBe(0);
  });
});

describe('budget alerts across replicas', () => {
  it('sends each condition from the one replica that claims it, and lets a later call retry a claim that was rate-limited', async () => {
    const claimed = new Set<string>();
    const claims = {
      claim: async (key: string) => (claimed.has(key) ? false : (claimed.add(key), true)),
      release: async (key: string) => void claimed.delete(key),
    };
    const replicas = [0, 1].map(() => Alerting.fromSettings({ alerting: ['webhook'] }, { WEBHOOK_URL: 'http://127.0.0.1:9/alerts' }, logger, {}, () => 1)!);
    for (const replica of replicas) replica.shareClaims(claims);
    const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
    replicas[0].budgetSpent(spend(600_000));
    await settle();
    replicas[1].budgetSpent(spend(650_000));
    await settle();
    expect(replicas.map((replica) => replica.snapshot()[0].queued)).toEqual([1, 0]);
    replicas[1].budgetSpent(spend(850_000));
    await settle();
    replicas[0].budgetSpent(spend(900_000));
    await settle();
    expect(replicas.map((replica) => replica.snapshot()[0].queued)).toEqual([1, 1]);
    expect([...claimed].sort()).toEqual(['budget:max_budget_80:key:k1:0', 'budget:soft_budget:key:k1:0']);
  });

  it('sends when the claims store does not answer (a duplicate rather than a missed alert)', async () => {
    const alerting = Alerting.fromSettings({ alerting: ['webhook'] }, { WEBHOOK_URL: 'http://127.0.0.1:9/alerts' }, logger, {}, () => 1)!;
    alerting.shareClaims({ claim: async () => Promise.reject(new Error('redis down')), release: async () => undefined });
    alerting.budgetSpent(spend(600_000));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(alerting.snapshot()[0].queued).toBe(1);
  });
});
