/** Provider health per deployment: status, response time, last check, errors; run a check now. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { providerHealth, runHealthCheck } from '../api/gateway';
import { pollUnlessUnavailable } from '../api/http';
import { Empty, errorText, QueryView } from '../components/states';
import { Badge, Card, notify, PageHeader, Stat } from '../components/ui';
import { dateTime, ms } from '../format';
import { healthTone } from './models';
import { navigate } from '../router';

export function ProvidersPage() {
  const queryClient = useQueryClient();
  const health = useQuery({ queryKey: ['provider-health'], queryFn: providerHealth, refetchInterval: pollUnlessUnavailable(15_000) });
  const check = useMutation({
    mutationFn: (modelId?: string) => runHealthCheck(modelId),
    onSuccess: () => {
      notify('Health check finished');
      void queryClient.invalidateQueries({ queryKey: ['provider-health'] });
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  return (
    <>
      <PageHeader
        title="Providers & health"
        description="Each deployment's last health check. Checks also run in the background."
        actions={
          <button type="button" className="button button-primary" disabled={check.isPending} onClick={() => check.mutate(undefined)}>
            {check.isPending ? 'Checking…' : 'Run a check now'}
          </button>
        }
      />
      <QueryView query={health} empty={(data) => (data.length === 0 ? <Empty title="No deployments to check" /> : null)}>
        {(data) => {
          const countOf = (status: string) => data.filter((row) => row.status === status).length;
          const providers = [...new Set(data.map((row) => row.provider))].sort();
          return (
            <>
              <div className="stats">
                <Stat label="Healthy" value={countOf('healthy')} tone="green" />
                <Stat label="Degraded" value={countOf('degraded')} tone={countOf('degraded') ? 'yellow' : undefined} />
                <Stat label="Down" value={countOf('down')} tone={countOf('down') ? 'red' : undefined} />
                {countOf('model_missing') ? <Stat label="Model missing" value={countOf('model_missing')} tone="red" /> : null}
                <Stat label="Not checked yet" value={countOf('unknown')} />
              </div>
              {providers.map((provider) => (
                <Card key={provider} title={provider || 'provider'}>
                  <div className="table-wrap">
                    <table className="table">
                      <thead>
                        <tr>
                          <th scope="col">Deployment</th>
                          <th scope="col">Status</th>
                          <th scope="col">Response time</th>
                          <th scope="col">Last check</th>
                          <th scope="col">Last error</th>
                          <th scope="col">
                            <span className="sr-only">Actions</span>
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        {data
                          .filter((row) => row.provider === provider)
                          .map((row) => (
                            <tr key={row.deployment_id}>
                              <td>
                                <div className="strong">{row.model_name}</div>
                                <code className="muted small">{row.deployment_id}</code>
                                {row.active ? null : <div className="muted small">disabled</div>}
                              </td>
                              <td>
                                <Badge tone={healthTone[row.status]}>{row.status}</Badge>
                                {row.consecutive_failures > 0 ? <div className="muted small">{row.consecutive_failures} failures in a row</div> : null}
                              </td>
                              <td>{ms(row.response_time_ms)}</td>
                              <td>{dateTime(row.last_checked)}</td>
                              <td className="wrap">
                                {row.last_error ?? <span className="muted">—</span>}
                                {row.status === 'model_missing' && row.backend_id ? (
                                  <div>
                                    <a
                                      href={`/ui/backends#backend-${row.backend_id}`}
                                      onClick={(event) => {
                                        event.preventDefault();
                                        navigate(`/backends#backend-${row.backend_id}`);
                                      }}
                                    >
                                      Open its backend to pull the model
                                    </a>
                                  </div>
                                ) : null}
                              </td>
                              <td className="row-actions">
                                <button type="button" className="button button-small button-ghost" disabled={check.isPending} onClick={() => check.mutate(row.deployment_id)}>
                                  Check
                                </button>
                              </td>
                            </tr>
                          ))}
                      </tbody>
                    </table>
                  </div>
                </Card>
              ))}
            </>
          );
        }}
      </QueryView>
    </>
  );
}
