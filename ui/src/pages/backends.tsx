/**
 * Local backends (Ollama, vLLM, LM Studio): each server with its status, its models (size,
 * quantization, loaded or not), the deployments using it, a Pull button with a progress bar for a
 * model its deployments need and it lacks (Ollama), and Remove.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { listBackends, pullModel, removeModel, type BackendView, type PullView } from '../api/backends';
import { pollUnlessUnavailable } from '../api/http';
import { Empty, errorText, QueryView } from '../components/states';
import { Badge, Card, ConfirmButton, notify, PageHeader, type Tone } from '../components/ui';
import { dateTime, ms } from '../format';
import { healthTone } from './models';

const statusTone: Record<BackendView['status'], Tone> = { up: 'green', down: 'red', unknown: 'gray' };

function bytes(value: number | null): string {
  if (value === null) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let size = value;
  let unit = 0;
  while (size >= 1000 && unit < units.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${size.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function PullProgress({ pull }: { pull: PullView }) {
  const label = `Pull of ${pull.model}`;
  if (pull.state === 'failed') return <div className="negative small">Pull failed: {pull.error}</div>;
  if (pull.state === 'succeeded') return <Badge tone="green">pulled</Badge>;
  return (
    <div className="pull-progress">
      <progress aria-label={label} max={100} value={pull.percent ?? undefined} />
      <span className="small muted">
        {pull.percent === null ? pull.status : `${pull.percent}%`} · {pull.status}
      </span>
    </div>
  );
}

function BackendCard({ backend }: { backend: BackendView }) {
  const queryClient = useQueryClient();
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['backends'] });
  const pull = useMutation({
    mutationFn: (model: string) => pullModel(backend.id, model),
    onSuccess: (_, model) => {
      notify(`Pulling ${model} on ${backend.api_base}`);
      refresh();
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  const remove = useMutation({
    mutationFn: (model: string) => removeModel(backend.id, model),
    onSuccess: (_, model) => {
      notify(`Removed ${model} from ${backend.api_base}`);
      refresh();
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  const pullOf = (model: string) => backend.pulls.find((item) => item.model === model);
  const running = (model: string) => pullOf(model)?.state === 'running';
  const warmOf = (model: string) => backend.warm_ups.find((warm) => `${warm.model}:latest` === model || warm.model === model);
  return (
    <section id={`backend-${backend.id}`} aria-label={`Backend ${backend.api_base}`}>
      <Card
        title={backend.api_base}
        actions={
          <>
            <Badge tone="blue">{backend.kind === 'ollama' ? 'Ollama' : backend.providers.join(', ')}</Badge>{' '}
            <Badge tone={statusTone[backend.status]}>{backend.status}</Badge>
          </>
        }
      >
        <p className="muted small">
          Last read {dateTime(backend.last_checked)} · id <code>{backend.id}</code>
          {backend.error ? <span className="negative"> · {backend.error}</span> : null}
        </p>

        {backend.missing_models.length > 0 ? (
          <div className="notice" role="status">
            {backend.missing_models.map((model) => (
              <div key={model} className="missing-model">
                <span>
                  Model <strong>{model}</strong> is {backend.kind === 'ollama' ? 'not pulled' : 'not served'} here: its deployments get no traffic.
                </span>{' '}
                {backend.manageable ? (
                  running(model) ? (
                    <PullProgress pull={pullOf(model)!} />
                  ) : (
                    <>
                      <button type="button" className="button button-small button-primary" disabled={pull.isPending} onClick={() => pull.mutate(model)}>
                        Pull {model}
                      </button>
                      {pullOf(model)?.state === 'failed' ? <PullProgress pull={pullOf(model)!} /> : null}
                    </>
                  )
                ) : (
                  <span className="small">Start the server with this model (it serves the models it was started with).</span>
                )}
              </div>
            ))}
          </div>
        ) : null}

        <h3 className="small muted">Models</h3>
        {backend.models.length === 0 ? (
          <Empty title={backend.status === 'up' ? 'No models on this backend' : 'Not read yet'} />
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Size</th>
                  <th scope="col">{backend.kind === 'ollama' ? 'Parameters' : 'Context length'}</th>
                  {backend.kind === 'ollama' ? <th scope="col">Quantization</th> : null}
                  <th scope="col">Loaded</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {backend.models.map((model) => {
                  const warm = warmOf(model.name);
                  return (
                    <tr key={model.name}>
                      <td>
                        <div className="strong">{model.name}</div>
                        {model.family ? <div className="muted small">{model.family}</div> : null}
                      </td>
                      <td>{bytes(model.size)}</td>
                      <td>{backend.kind === 'ollama' ? (model.parameter_size ?? '—') : (model.max_model_len?.toLocaleString('en-US') ?? '—')}</td>
                      {backend.kind === 'ollama' ? <td>{model.quantization ?? '—'}</td> : null}
                      <td>
                        {model.loaded === null ? <span className="muted">—</span> : model.loaded ? <Badge tone="green">loaded{model.size_vram !== null ? ` · ${bytes(model.size_vram)} VRAM` : ''}</Badge> : <Badge tone="gray">not loaded</Badge>}
                        {warm ? <div className="muted small">{warm.error ? `warm-up failed: ${warm.error}` : `warmed up in ${ms(warm.load_ms)}`}</div> : null}
                      </td>
                      <td className="row-actions">{backend.manageable ? <ConfirmButton label={`Remove ${model.name}`} confirmLabel={`Confirm removing ${model.name}`} disabled={remove.isPending} onConfirm={() => remove.mutate(model.name)} /> : null}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}

        <h3 className="small muted">Deployments</h3>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Deployment</th>
                <th scope="col">Model</th>
                <th scope="col">Status</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {backend.deployments.map((deployment) => (
                <tr key={deployment.deployment_id} data-deployment={deployment.deployment_id}>
                  <td>
                    <div className="strong">{deployment.model_name}</div>
                    <code className="muted small">{deployment.deployment_id}</code>
                    {deployment.active ? null : <div className="muted small">disabled</div>}
                  </td>
                  <td>{deployment.model}</td>
                  <td>
                    <Badge tone={healthTone[deployment.status]}>{deployment.status}</Badge>
                  </td>
                  <td className="wrap">{deployment.last_error ?? <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
    </section>
  );
}

export function BackendsPage() {
  const backends = useQuery({
    queryKey: ['backends'],
    queryFn: listBackends,
    // Every second while a pull runs, so its bar moves; otherwise every 10 s.
    refetchInterval: (query) => (query.state.data?.some((backend) => backend.pulls.some((pull) => pull.state === 'running')) ? 1_000 : pollUnlessUnavailable(10_000)(query)),
  });
  const loaded = backends.data !== undefined;
  useEffect(() => {
    // Deep links from the Providers page: /ui/backends#backend-<id>.
    if (loaded && window.location.hash) document.getElementById(window.location.hash.slice(1))?.scrollIntoView();
  }, [loaded]);
  return (
    <>
      <PageHeader title="Local backends" description="Ollama, vLLM and other local inference servers: what each one serves, read with the health checks." />
      <QueryView query={backends} empty={(data) => (data.length === 0 ? <Empty title="No local backends">Deployments on Ollama, vLLM or LM Studio (or with model_info.local) appear here.</Empty> : null)}>
        {(data) => (
          <>
            {data.map((backend) => (
              <BackendCard key={backend.id} backend={backend} />
            ))}
          </>
        )}
      </QueryView>
    </>
  );
}
