/**
 * Agents: a card per agent (type, status, model, executions, success rate, average time, cost over
 * the chosen period) under a totals strip that is GET /agents/stats; per agent Test, Logs, Edit,
 * pause/resume and delete; create a new one. Numbers come from the gateway's usage records.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { agentsOverview, deleteAgent, listAgents, setAgentPaused, type Agent, type Period } from '../api/agents';
import { Empty, errorText, QueryView } from '../components/states';
import { Badge, ConfirmButton, notify, PageHeader, Stat } from '../components/ui';
import { count, daysAgo, isoDay, ms, usd } from '../format';
import type { Session } from '../session';
import { AgentEditor, AgentLogs, AgentTest } from './agent-dialogs';

const PERIODS = [
  { days: 1, label: 'Today' },
  { days: 7, label: 'Last 7 days' },
  { days: 30, label: 'Last 30 days' },
  { days: 90, label: 'Last 90 days' },
];

export function periodOf(days: number): Period {
  return { start_date: daysAgo(days - 1), end_date: isoDay(new Date()) };
}

const percent = (rate: number, executions: number) => (executions === 0 ? '—' : `${(rate * 100).toFixed(1)}%`);

type Dialog = { kind: 'test' | 'logs' | 'edit'; agent: Agent } | { kind: 'create' } | null;

export function AgentsPage({ session }: { session: Session }) {
  const admin = session.role === 'admin';
  const [days, setDays] = useState(30);
  const [dialog, setDialog] = useState<Dialog>(null);
  const period = periodOf(days);
  const queryClient = useQueryClient();
  const agents = useQuery({ queryKey: ['agents', period], queryFn: () => listAgents(period) });
  const overview = useQuery({ queryKey: ['agents-stats', period], queryFn: () => agentsOverview(period) });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['agents'] });
    void queryClient.invalidateQueries({ queryKey: ['agents-stats'] });
  };
  const pause = useMutation({
    mutationFn: ({ name, paused }: { name: string; paused: boolean }) => setAgentPaused(name, paused),
    onSuccess: (agent) => {
      notify(`${agent.display_name} is ${agent.status === 'paused' ? 'paused' : 'active'}`);
      refresh();
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  const remove = useMutation({
    mutationFn: (name: string) => deleteAgent(name),
    onSuccess: () => {
      notify('Agent deleted');
      refresh();
    },
    onError: (error) => notify(errorText(error), 'error'),
  });

  return (
    <>
      <PageHeader
        title="Agents"
        description="Each service's model, prompt and output schema; its executions, success rate, time and cost from the gateway's usage records."
        actions={
          <>
            <label className="sr-only" htmlFor="agent-period">
              Period
            </label>
            <select id="agent-period" className="input" value={days} onChange={(event) => setDays(Number(event.target.value))}>
              {PERIODS.map((item) => (
                <option key={item.days} value={item.days}>
                  {item.label}
                </option>
              ))}
            </select>
            {admin ? (
              <button type="button" className="button button-primary" onClick={() => setDialog({ kind: 'create' })}>
                New agent
              </button>
            ) : null}
          </>
        }
      />
      <QueryView query={overview}>
        {(totals) => (
          <div className="stats" aria-label="Agent totals">
            <Stat label="Agents" value={count(totals.total_agents)} detail={`${count(totals.active_agents)} active`} />
            <Stat label="Executions" value={count(totals.total_executions)} />
            <Stat label="Success rate" value={percent(totals.success_rate, totals.total_executions)} />
            <Stat label="Tokens" value={count(totals.total_tokens)} />
            <Stat label="Cost" value={usd(totals.total_cost)} />
            <Stat label="Average time" value={ms(totals.avg_execution_time_ms)} />
          </div>
        )}
      </QueryView>
      <QueryView query={agents} empty={(data) => (data.length === 0 ? <Empty title="No agents yet">Create one, or add an agents: section to config.yaml.</Empty> : null)}>
        {(data) => (
          <div className="agent-cards">
            {data.map((agent) => (
              <article key={agent.name} className="card agent-card" aria-label={agent.display_name} data-agent={agent.name}>
                <div className="card-header">
                  <div>
                    <h2 className="agent-title">{agent.display_name}</h2>
                    <span className="muted">
                      {agent.name} · {agent.type}
                    </span>
                  </div>
                  <Badge tone={agent.status === 'active' ? 'green' : 'yellow'}>{agent.status}</Badge>
                </div>
                {agent.description ? <p className="muted agent-description">{agent.description}</p> : null}
                <dl className="agent-facts">
                  <dt>Model</dt>
                  <dd data-field="model">{agent.model}</dd>
                  <dt>Executions</dt>
                  <dd data-field="executions">{count(agent.stats.executions)}</dd>
                  <dt>Success rate</dt>
                  <dd>{percent(agent.stats.success_rate, agent.stats.executions)}</dd>
                  <dt>Average time</dt>
                  <dd>{ms(agent.stats.avg_execution_time_ms)}</dd>
                  <dt>Cost</dt>
                  <dd data-field="cost">{usd(agent.stats.total_cost)}</dd>
                </dl>
                <div className="agent-actions">
                  <button type="button" className="button button-small" onClick={() => setDialog({ kind: 'test', agent })}>
                    Test
                  </button>
                  <button type="button" className="button button-small" onClick={() => setDialog({ kind: 'logs', agent })}>
                    Logs
                  </button>
                  {admin ? (
                    <>
                      <button type="button" className="button button-small" onClick={() => setDialog({ kind: 'edit', agent })}>
                        Edit
                      </button>
                      <button type="button" className="button button-small" disabled={pause.isPending} onClick={() => pause.mutate({ name: agent.name, paused: agent.status === 'active' })}>
                        {agent.status === 'active' ? 'Pause' : 'Resume'}
                      </button>
                      {agent.source === 'api' ? <ConfirmButton label="Delete" confirmLabel={`Delete ${agent.name}`} onConfirm={() => remove.mutate(agent.name)} /> : null}
                    </>
                  ) : null}
                </div>
              </article>
            ))}
          </div>
        )}
      </QueryView>
      {dialog?.kind === 'test' ? <AgentTest agent={dialog.agent} period={period} onClose={() => setDialog(null)} onRan={refresh} /> : null}
      {dialog?.kind === 'logs' ? <AgentLogs agent={dialog.agent} period={period} onClose={() => setDialog(null)} /> : null}
      {dialog?.kind === 'edit' || dialog?.kind === 'create' ? (
        <AgentEditor
          agent={dialog.kind === 'edit' ? dialog.agent : undefined}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            refresh();
          }}
        />
      ) : null}
    </>
  );
}
