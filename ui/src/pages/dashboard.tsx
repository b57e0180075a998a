/** Today at a glance: requests, spend, errors, latency and top models, with the last 14 days charted. */
import { useQuery } from '@tanstack/react-query';
import { pollUnlessUnavailable } from '../api/http';
import { dailyActivity, listKeys, publicModels, readiness, spendLogs, type DailyActivity } from '../api/gateway';
import { BarChart, LineChart, RankBars } from '../components/charts';
import { Empty, ErrorState, Loading } from '../components/states';
import { Card, PageHeader, Stat } from '../components/ui';
import { count, daysAgo, isoDay, ms, percentile, usd } from '../format';
import type { Session } from '../session';

function TodayStats({ activity, latencies }: { activity: DailyActivity; latencies: number[] | null }) {
  const today = activity.days.find((day) => day.date === isoDay(new Date()));
  const metrics = today?.metrics;
  const errorRate = metrics && metrics.requests > 0 ? (metrics.failed / metrics.requests) * 100 : null;
  return (
    <div className="stats">
      <Stat label="Requests today" value={count(metrics?.requests ?? 0)} detail={`${count(metrics?.total_tokens ?? 0)} tokens`} />
      <Stat label="Spend today" value={usd(metrics?.spend ?? 0)} />
      <Stat label="Errors today" value={count(metrics?.failed ?? 0)} detail={errorRate === null ? 'no requests' : `${errorRate.toFixed(1)} % of requests`} tone={metrics && metrics.failed > 0 ? 'red' : undefined} />
      <Stat
        label="Latency today"
        value={latencies === null ? '—' : ms(percentile(latencies, 50))}
        detail={latencies === null ? 'logs unavailable' : latencies.length === 0 ? 'no requests' : `median · p95 ${ms(percentile(latencies, 95))} · last ${latencies.length} requests`}
      />
    </div>
  );
}

/** What is true of the gateway right now: version, database, callable models, keys. */
function GatewayStrip({ admin }: { admin: boolean }) {
  const ready = useQuery({ queryKey: ['readiness'], queryFn: readiness, refetchInterval: 30_000 });
  const models = useQuery({ queryKey: ['public-models'], queryFn: publicModels });
  const keys = useQuery({ queryKey: ['keys', 'count'], queryFn: () => listKeys({ page: 1, size: 1 }), enabled: admin });
  const value = (query: { isPending: boolean; isError: boolean }, text: () => string) => (query.isPending ? '…' : query.isError ? 'unavailable' : text());
  return (
    <div className="stats" aria-label="Gateway">
      <Stat label="Gateway" value={value(ready, () => (ready.data!.version ? `v${ready.data!.version}` : '—'))} />
      <Stat label="Database" value={value(ready, () => (ready.data!.ready ? 'ready' : 'not ready'))} detail={ready.data && !ready.data.ready ? ready.data.db : undefined} tone={ready.data ? (ready.data.ready ? 'green' : 'red') : undefined} />
      <Stat label={admin ? 'Models callable' : 'Models you can call'} value={value(models, () => count(models.data!.length))} />
      {admin ? <Stat label="Keys" value={value(keys, () => count(keys.data!.total_count))} /> : null}
    </div>
  );
}

export function DashboardPage({ session }: { session: Session }) {
  const userId = session.role === 'user' ? (session.userId ?? undefined) : undefined;
  const activity = useQuery({
    queryKey: ['daily-activity', 'dashboard', userId],
    queryFn: () => dailyActivity({ start_date: daysAgo(13), end_date: isoDay(new Date()), user_id: userId }),
    refetchInterval: pollUnlessUnavailable(30_000),
  });
  const logs = useQuery({
    queryKey: ['spend-logs', 'dashboard-latency', userId],
    queryFn: () => spendLogs({ start_date: isoDay(new Date()), end_date: isoDay(new Date()), user_id: userId }, 1, 200),
    refetchInterval: pollUnlessUnavailable(30_000),
  });
  const latencies = logs.data ? logs.data.rows.map((row) => row.latency_ms).filter((value): value is number => value !== null) : null;

  return (
    <>
      <PageHeader title="Dashboard" description={session.role === 'admin' ? 'Traffic through the gateway today and over the last 14 days.' : 'Your traffic today and over the last 14 days.'} />
      <GatewayStrip admin={session.role === 'admin'} />
      {activity.isPending ? (
        <Loading label="Loading today's activity…" />
      ) : activity.isError ? (
        <ErrorState error={activity.error} onRetry={() => void activity.refetch()} />
      ) : (
        <>
          <TodayStats activity={activity.data} latencies={latencies} />
          {activity.data.days.length === 0 ? (
            <Empty title="No requests yet">Send a request through the gateway (or try the Playground) and it shows up here.</Empty>
          ) : (
            <div className="grid grid-2">
              <Card title="Requests per day">
                <BarChart label="Requests per day, last 14 days" data={activity.data.days.map((day) => ({ label: day.date, value: day.metrics.requests }))} />
              </Card>
              <Card title="Spend per day">
                <LineChart label="Spend per day in USD, last 14 days" format={(value) => usd(value)} data={activity.data.days.map((day) => ({ label: day.date, value: day.metrics.spend }))} />
              </Card>
              <Card title="Errors per day">
                <BarChart tone="danger" label="Failed requests per day, last 14 days" data={activity.data.days.map((day) => ({ label: day.date, value: day.metrics.failed }))} />
              </Card>
              <Card title="Top models today">
                <TopModels activity={activity.data} />
              </Card>
            </div>
          )}
        </>
      )}
    </>
  );
}

function TopModels({ activity }: { activity: DailyActivity }) {
  const today = activity.days.find((day) => day.date === isoDay(new Date()));
  const models = Object.entries(today?.breakdown.models ?? {}).map(([label, metrics]) => ({ label, value: metrics.requests }));
  if (models.length === 0) return <Empty title="No requests today" />;
  return <RankBars label="Top models today by requests" data={models} format={(value) => `${count(value)} req`} />;
}
