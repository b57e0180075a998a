/** Usage over a date range: per day, by model, provider and key; filters; CSV export. */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { dailyActivity, downloadSpendReportCsv, sumMetrics, type DailyActivity, type Metrics, type ReportGroup } from '../api/gateway';
import { BarChart, LineChart, RankBars } from '../components/charts';
import { Empty, errorText, QueryView } from '../components/states';
import { Card, Field, notify, PageHeader, Stat } from '../components/ui';
import { count, daysAgo, isoDay, usd } from '../format';
import type { Session } from '../session';

type Dimension = 'models' | 'providers' | 'api_keys';

function breakdown(activity: DailyActivity, dimension: Dimension): { name: string; metrics: Metrics }[] {
  const names = new Set(activity.days.flatMap((day) => Object.keys(day.breakdown[dimension])));
  return [...names].map((name) => ({ name, metrics: sumMetrics(activity.days.map((day) => day.breakdown[dimension][name]).filter((item): item is Metrics => item !== undefined)) }));
}

function BreakdownCard({ activity, dimension, title }: { activity: DailyActivity; dimension: Dimension; title: string }) {
  const rows = breakdown(activity, dimension).sort((a, b) => b.metrics.spend - a.metrics.spend || b.metrics.requests - a.metrics.requests);
  return (
    <Card title={title}>
      {rows.length === 0 ? (
        <Empty title="Nothing in this range" />
      ) : (
        <>
          <RankBars label={`${title} by requests`} data={rows.map((row) => ({ label: row.name, value: row.metrics.requests }))} format={(value) => `${count(value)} req`} />
          <div className="table-wrap">
            <table className="table table-compact">
              <thead>
                <tr>
                  <th scope="col">{title.replace('By ', '')}</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Failed</th>
                  <th scope="col">Tokens</th>
                  <th scope="col">Spend</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((row) => (
                  <tr key={row.name}>
                    <td className="wrap">{row.name}</td>
                    <td>{count(row.metrics.requests)}</td>
                    <td>{count(row.metrics.failed)}</td>
                    <td>{count(row.metrics.total_tokens)}</td>
                    <td>{usd(row.metrics.spend)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Card>
  );
}

export function UsagePage({ session }: { session: Session }) {
  const [filters, setFilters] = useState({ start_date: daysAgo(29), end_date: isoDay(new Date()), model: '', api_key: '' });
  const [draft, setDraft] = useState(filters);
  const [groupBy, setGroupBy] = useState<ReportGroup>('day');
  const userId = session.role === 'user' ? (session.userId ?? undefined) : undefined;
  const activity = useQuery({
    queryKey: ['daily-activity', filters, userId],
    queryFn: () => dailyActivity({ ...filters, model: filters.model || undefined, api_key: filters.api_key || undefined, user_id: userId }),
  });
  const csv = useMutation({
    mutationFn: () => downloadSpendReportCsv({ start_date: filters.start_date, end_date: filters.end_date, group_by: groupBy, model: filters.model || undefined, api_key: filters.api_key || undefined }),
    onError: (error) => notify(errorText(error), 'error'),
  });
  return (
    <>
      <PageHeader
        title="Usage"
        description="Requests, tokens and spend over time."
        actions={
          <div className="inline-form">
            <label className="sr-only" htmlFor="csv-group">
              Group the CSV by
            </label>
            <select id="csv-group" value={groupBy} onChange={(event) => setGroupBy(event.target.value as ReportGroup)}>
              {(['day', 'model', 'provider', 'key', 'user', 'team'] as const).map((group) => (
                <option key={group} value={group}>
                  by {group}
                </option>
              ))}
            </select>
            <button type="button" className="button" disabled={csv.isPending} onClick={() => csv.mutate()}>
              {csv.isPending ? 'Preparing…' : 'Download CSV'}
            </button>
          </div>
        }
      />
      <Card>
        <form
          className="filters"
          onSubmit={(event) => {
            event.preventDefault();
            if (draft.start_date > draft.end_date) return notify('The start date is after the end date', 'error');
            setFilters(draft);
          }}
        >
          <Field label="From">{(id) => <input id={id} type="date" value={draft.start_date} onChange={(event) => setDraft({ ...draft, start_date: event.target.value })} />}</Field>
          <Field label="To">{(id) => <input id={id} type="date" value={draft.end_date} onChange={(event) => setDraft({ ...draft, end_date: event.target.value })} />}</Field>
          <Field label="Model">{(id) => <input id={id} value={draft.model} onChange={(event) => setDraft({ ...draft, model: event.target.value })} placeholder="any" />}</Field>
          {session.role === 'admin' ? <Field label="Key (token or alias)">{(id) => <input id={id} value={draft.api_key} onChange={(event) => setDraft({ ...draft, api_key: event.target.value })} placeholder="any" />}</Field> : null}
          <button type="submit" className="button button-primary">
            Apply
          </button>
        </form>
      </Card>
      <QueryView query={activity} empty={(data) => (data.days.length === 0 ? <Empty title="No usage in this range">Pick a wider range or send some requests.</Empty> : null)}>
        {(data) => (
          <>
            <div className="stats">
              <Stat label="Requests" value={count(data.totals.requests)} detail={`${count(data.totals.failed)} failed`} />
              <Stat label="Spend" value={usd(data.totals.spend)} />
              <Stat label="Prompt tokens" value={count(data.totals.prompt_tokens)} />
              <Stat label="Completion tokens" value={count(data.totals.completion_tokens)} />
              <Stat label="Cache hit rate" value={data.totals.requests > 0 ? `${((100 * data.totals.cache_hits) / data.totals.requests).toFixed(1)} %` : '—'} detail={`${count(data.totals.cache_hits)} answered from the cache`} />
              <Stat label="Saved by the cache" value={usd(data.totals.saved_cost)} detail="what the cached answers cost when produced" />
            </div>
            <div className="grid grid-2">
              <Card title="Requests per day">
                <BarChart label="Requests per day" data={data.days.map((day) => ({ label: day.date, value: day.metrics.requests }))} />
              </Card>
              <Card title="Spend per day">
                <LineChart label="Spend per day in USD" format={(value) => usd(value)} data={data.days.map((day) => ({ label: day.date, value: day.metrics.spend }))} />
              </Card>
              <BreakdownCard activity={data} dimension="models" title="By model" />
              <BreakdownCard activity={data} dimension="providers" title="By provider" />
              {session.role === 'admin' ? <BreakdownCard activity={data} dimension="api_keys" title="By key" /> : null}
            </div>
          </>
        )}
      </QueryView>
    </>
  );
}
