/** Credit balance and transactions: a user's own (Credits page) or any user's (Users page). */
import { useQuery } from '@tanstack/react-query';
import { creditBalance, creditTransactions } from '../api/gateway';
import { Empty, QueryView } from '../components/states';
import { Card, PageHeader, Stat } from '../components/ui';
import { count, dateTime } from '../format';
import type { Session } from '../session';

export function CreditsPanel({ userId }: { userId?: string }) {
  const balance = useQuery({ queryKey: ['credits', userId, 'balance'], queryFn: () => creditBalance(userId) });
  const transactions = useQuery({ queryKey: ['credits', userId, 'transactions'], queryFn: () => creditTransactions(userId) });
  return (
    <div className="stack">
      <QueryView query={balance} loadingLabel="Loading the balance…">
        {(data) => (
          <div className="stats">
            <Stat label="Balance" value={count(data.balance)} detail={data.low_balance ? 'low balance' : 'credits'} tone={data.low_balance ? 'red' : undefined} />
            <Stat label="Used" value={count(data.credits_used)} detail="credits" />
            <Stat label="Tier" value={data.tier} />
          </div>
        )}
      </QueryView>
      <QueryView query={transactions} loadingLabel="Loading transactions…" empty={(data) => (data.length === 0 ? <Empty title="No transactions yet" /> : null)}>
        {(data) => (
          <div className="table-wrap">
            <table className="table">
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
                    <td>{row.kind}</td>
                    <td className={row.amount < 0 ? 'negative' : 'positive'}>{`${row.amount > 0 ? '+' : ''}${count(row.amount)}`}</td>
                    <td>{count(row.balance_after)}</td>
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

export function CreditsPage({ session }: { session: Session }) {
  return (
    <>
      <PageHeader title="Credits" description="Your credit balance and every grant and charge." />
      <Card>
        <CreditsPanel userId={session.userId ?? undefined} />
      </Card>
    </>
  );
}
