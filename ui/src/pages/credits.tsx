/**
 * Credit balance and the ledger: a user's own (Credits page, with "Buy credits" when the gateway
 * sells them through Stripe) or any user's (Users page). The ledger lists every entry — purchases,
 * grants, monthly allowances and their expiries, usage, refunds, disputes, adjustments — filterable by kind.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { creditBalance, creditPackages, creditTransactions, purchaseCredits } from '../api/gateway';
import { Empty, errorText, QueryView } from '../components/states';
import { Card, notify, PageHeader, Stat } from '../components/ui';
import { count, dateTime } from '../format';
import type { Session } from '../session';

const KINDS: Array<{ kind: string; label: string }> = [
  { kind: 'purchase', label: 'Purchase' },
  { kind: 'grant', label: 'Grant' },
  { kind: 'allowance', label: 'Monthly allowance' },
  { kind: 'expiry', label: 'Allowance expiry' },
  { kind: 'usage', label: 'Usage' },
  { kind: 'refund', label: 'Refund' },
  { kind: 'dispute', label: 'Dispute (chargeback)' },
  { kind: 'adjustment', label: 'Adjustment' },
];

const labelOf = (kind: string) => KINDS.find((entry) => entry.kind === kind)?.label ?? kind;

/** A price in the currency's minor unit, formatted (zero-decimal currencies as they are). */
function price(amount: number, currency: string): string {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).resolvedOptions().maximumFractionDigits ?? 2;
  return new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).format(amount / 10 ** digits);
}

export function CreditsPanel({ userId }: { userId?: string }) {
  const [kind, setKind] = useState('');
  const balance = useQuery({ queryKey: ['credits', userId, 'balance'], queryFn: () => creditBalance(userId) });
  const transactions = useQuery({ queryKey: ['credits', userId, 'transactions', kind], queryFn: () => creditTransactions(userId, kind || undefined) });
  return (
    <div className="stack">
      <QueryView query={balance} loadingLabel="Loading the balance…">
        {(data) => (
          <div className="stats">
            <Stat label="Balance" value={count(data.balance)} detail={data.low_balance ? 'low balance' : 'credits'} tone={data.low_balance ? 'red' : undefined} />
            <Stat label="Used" value={count(data.credits_used)} detail="credits" />
            <Stat label="Tier" value={data.tier} />
            <Stat label="Monthly allowance" value={data.monthly_credits > 0 ? count(data.monthly_credits) : 'none'} detail={data.monthly_credits > 0 ? (data.rollover ? 'credits, unused ones carry over' : 'credits, unused ones expire at month end') : undefined} />
          </div>
        )}
      </QueryView>
      <div className="inline-form">
        <label htmlFor="ledger-kind">Show</label>
        <select id="ledger-kind" value={kind} onChange={(event) => setKind(event.target.value)}>
          <option value="">every entry</option>
          {KINDS.map((entry) => (
            <option key={entry.kind} value={entry.kind}>
              {entry.label.toLowerCase()}
            </option>
          ))}
        </select>
      </div>
      <QueryView query={transactions} loadingLabel="Loading transactions…" empty={(data) => (data.length === 0 ? <Empty title={kind ? `No ${labelOf(kind).toLowerCase()} entries` : 'No transactions yet'} /> : null)}>
        {(data) => (
          <div className="table-wrap">
            <table className="table" aria-label="Credit ledger">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Type</th>
                  <th scope="col">Amount</th>
                  <th scope="col">Balance after</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {data.map((row) => (
                  <tr key={row.id}>
                    <td>{dateTime(row.created_at)}</td>
                    <td>{labelOf(row.kind)}</td>
                    <td className={row.amount < 0 ? 'negative' : 'positive'}>{`${row.amount > 0 ? '+' : ''}${count(row.amount)}`}</td>
                    <td className={row.balance_after < 0 ? 'negative' : undefined}>{count(row.balance_after)}</td>
                    <td className="wrap">{row.description ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </div>
  );
}

/** Packages on sale through Stripe Checkout; a choice sends the browser to Stripe's payment page. */
function BuyCredits() {
  const packages = useQuery({ queryKey: ['credit-packages'], queryFn: creditPackages });
  const purchase = useMutation({
    mutationFn: purchaseCredits,
    onSuccess: (session) => {
      if (session.url) window.location.assign(session.url);
      else notify('Stripe created the checkout but gave no page to open', 'error');
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  if (!packages.data?.stripe) return null;
  return (
    <Card title="Buy credits">
      <p className="muted">Payment is handled by Stripe; the credits are added as soon as Stripe confirms it.</p>
      <div className="inline-form">
        {packages.data.packages.map((item) => (
          <button key={item.name} type="button" className="button button-primary" disabled={purchase.isPending} onClick={() => purchase.mutate(item.name)}>
            {`Buy ${count(item.credits)} credits — ${price(item.price, item.currency)}`}
          </button>
        ))}
      </div>
    </Card>
  );
}

export function CreditsPage({ session }: { session: Session }) {
  return (
    <>
      <PageHeader title="Credits" description="Your credit balance and every purchase, grant, allowance and charge." />
      {session.userId ? <BuyCredits /> : null}
      <Card>
        <CreditsPanel userId={session.userId ?? undefined} />
      </Card>
    </>
  );
}
