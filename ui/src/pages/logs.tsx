/** Request logs: filters, paging, a detail view (tokens, cost, latency, guardrails, fallbacks, error), live tail. */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { spendLogs, type LogFilters, type LogRow } from '../api/gateway';
import { guardrailOutcomes, outcomeText } from '../api/guardrails';
import { pollUnlessUnavailable } from '../api/http';
import { Empty, QueryView } from '../components/states';
import { Badge, Card, Field, Modal, PageHeader, Pager } from '../components/ui';
import { count, dateTime, ms, usd } from '../format';
import type { Session } from '../session';

function statusBadge(row: LogRow) {
  const failed = row.status === 'failure' || row.http_status >= 400;
  return <Badge tone={failed ? 'red' : 'green'}>{row.http_status}</Badge>;
}

function GuardrailList({ row }: { row: LogRow }) {
  const outcomes = guardrailOutcomes(row.metadata);
  if (outcomes.length === 0) return null;
  return (
    <>
      <dt>Guardrails</dt>
      <dd>
        <ul className="plain-list" data-testid="log-guardrails">
          {outcomes.map((outcome, index) => (
            <li key={index} data-guardrail={outcome.name} data-action={outcome.action}>
              <Badge tone={outcome.action === 'blocked' ? 'red' : outcome.action === 'passed' ? 'green' : 'yellow'}>{outcome.name}</Badge> <span className="muted small">{outcome.stage.replace('_', ' ')}</span> <span className="wrap">{outcomeText(outcome)}</span>
            </li>
          ))}
        </ul>
      </dd>
    </>
  );
}

function LogDetail({ row }: { row: LogRow }) {
  return (
    <dl className="details">
      <dt>Request id</dt>
      <dd>
        <code>{row.request_id}</code>
      </dd>
      <dt>Time</dt>
      <dd>{dateTime(row.startTime)}</dd>
      <dt>Status</dt>
      <dd>
        {statusBadge(row)} {row.status}
      </dd>
      <dt>Model</dt>
      <dd>
        {row.model ?? '—'} {row.model_id ? <code className="muted small">{row.model_id}</code> : null}
      </dd>
      <dt>Provider</dt>
      <dd>{row.custom_llm_provider ?? '—'}</dd>
      {row.routing_rule ? (
        <>
          <dt>Routing rule</dt>
          <dd>{row.routing_rule}</dd>
        </>
      ) : null}
      <dt>Key</dt>
      <dd>{row.key_alias ?? row.api_key ?? '—'}</dd>
      <dt>Tokens</dt>
      <dd>
        {count(row.prompt_tokens)} prompt · {count(row.completion_tokens)} completion · {count(row.total_tokens)} total
        {row.usage_adjusted ? ' · counted by the gateway (the upstream reported impossible usage)' : ''}
      </dd>
      <dt>Cost</dt>
      <dd data-testid="log-cost">{usd(row.spend, 6)}</dd>
      {row.cache_hit ? (
        <>
          <dt>Cache</dt>
          <dd data-testid="log-cache">answered from the response cache, saving {usd(row.saved_cost, 6)}</dd>
        </>
      ) : null}
      <dt>Latency</dt>
      <dd>
        {ms(row.latency_ms)}
        {row.time_to_first_token_ms !== null ? ` · first token ${ms(row.time_to_first_token_ms)}` : ''}
        {row.stream ? ' · stream' : ''}
        {row.aborted ? ' · aborted (billed for what was produced)' : ''}
      </dd>
      <GuardrailList row={row} />
      <dt>Retries / fallbacks</dt>
      <dd>
        {count(row.retries)} / {count(row.fallbacks)}
      </dd>
      <dt>Error</dt>
      <dd className="wrap">{row.error_code || row.error_message ? `${row.error_code ?? ''} ${row.error_message ?? ''}` : '—'}</dd>
    </dl>
  );
}

export function LogsPage({ session }: { session: Session }) {
  const empty: LogFilters = { model: '', status: '', api_key: '', start_date: '', end_date: '' };
  const [filters, setFilters] = useState<LogFilters>(empty);
  const [draft, setDraft] = useState<LogFilters>(empty);
  const [page, setPage] = useState(1);
  const [live, setLive] = useState(false);
  const [selected, setSelected] = useState<LogRow | null>(null);
  const userId = session.role === 'user' ? (session.userId ?? undefined) : undefined;
  const logs = useQuery({
    queryKey: ['spend-logs', filters, page, userId],
    queryFn: () => spendLogs({ ...filters, user_id: userId }, page, 50),
    placeholderData: keepPreviousData,
    refetchInterval: live ? pollUnlessUnavailable(2_000) : false,
  });
  const set = (name: keyof LogFilters) => (event: { target: { value: string } }) => setDraft({ ...draft, [name]: event.target.value });
  return (
    <>
      <PageHeader
        title="Logs"
        description="Every request through the gateway, newest first."
        actions={
          <label className="toggle">
            <input
              type="checkbox"
              checked={live}
              onChange={(event) => {
                setLive(event.target.checked);
                if (event.target.checked) setPage(1);
              }}
            />
            Live tail
            {live ? <span className="pulse" aria-hidden="true" /> : null}
          </label>
        }
      />
      <Card>
        <form
          className="filters"
          onSubmit={(event) => {
            event.preventDefault();
            setPage(1);
            setFilters(draft);
          }}
        >
          <Field label="Model">{(id) => <input id={id} value={draft.model} onChange={set('model')} placeholder="any" />}</Field>
          <Field label="Status">
            {(id) => (
              <select id={id} value={draft.status} onChange={set('status')}>
                <option value="">any</option>
                <option value="success">success</option>
                <option value="failure">failure</option>
              </select>
            )}
          </Field>
          {session.role === 'admin' ? <Field label="Key">{(id) => <input id={id} value={draft.api_key} onChange={set('api_key')} placeholder="any" />}</Field> : null}
          <Field label="From">{(id) => <input id={id} type="date" value={draft.start_date} onChange={set('start_date')} />}</Field>
          <Field label="To">{(id) => <input id={id} type="date" value={draft.end_date} onChange={set('end_date')} />}</Field>
          <button type="submit" className="button button-primary">
            Apply
          </button>
        </form>
      </Card>
      <Card>
        <QueryView query={logs} empty={(data) => (data.rows.length === 0 ? <Empty title="No requests match">Requests appear here a moment after they finish.</Empty> : null)}>
          {(data) => (
            <>
              <div className="table-wrap">
                <table className="table table-clickable">
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Status</th>
                      <th scope="col">Model</th>
                      <th scope="col">Key</th>
                      <th scope="col">Tokens</th>
                      <th scope="col">Cost</th>
                      <th scope="col">Latency</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.rows.map((row) => (
                      <tr key={row.request_id} data-request-id={row.request_id} tabIndex={0} onClick={() => setSelected(row)} onKeyDown={(event) => (event.key === 'Enter' || event.key === ' ') && (event.preventDefault(), setSelected(row))}>
                        <td>{dateTime(row.startTime)}</td>
                        <td>{statusBadge(row)}</td>
                        <td>{row.model ?? '—'}</td>
                        <td>{row.key_alias ?? (row.api_key ? `${row.api_key.slice(0, 10)}…` : '—')}</td>
                        <td>{count(row.total_tokens)}</td>
                        <td>{usd(row.spend, 6)}</td>
                        <td>{ms(row.latency_ms)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager page={page} onPage={setPage} hasNext={data.has_more} previous="Newer" next="Older">
                Page {page}
              </Pager>
            </>
          )}
        </QueryView>
      </Card>
      <Modal title="Request" open={selected !== null} onClose={() => setSelected(null)} wide>
        {selected ? <LogDetail row={selected} /> : null}
      </Modal>
    </>
  );
}
