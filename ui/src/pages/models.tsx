/** Model deployments: provider, health, cost and status; add, edit, disable / enable, delete. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { addModel, deleteModel, modelInfo, providerHealth, setModelEnabled, updateModel, type DeploymentHealth, type ModelEntry, type ModelInput } from '../api/gateway';
import { Empty, errorText, QueryView } from '../components/states';
import { Badge, Card, ConfirmButton, Field, FormFooter, Modal, notify, PageHeader, type Tone } from '../components/ui';
import { perMillion } from '../format';

export const healthTone: Record<DeploymentHealth['status'], Tone> = { healthy: 'green', degraded: 'yellow', down: 'red', model_missing: 'red', unknown: 'gray' };

interface ModelFormValues {
  model_name: string;
  model: string;
  api_base: string;
  api_key: string;
  input_cost_per_million: string;
  output_cost_per_million: string;
  mode: string;
}

const ownPrices = (entry: ModelEntry) => entry.price_source === null || entry.price_source === 'configured';

function valuesOf(entry?: ModelEntry): ModelFormValues {
  return {
    model_name: entry?.model_name ?? '',
    model: entry ? `${entry.provider}/${entry.upstream_model}` : '',
    api_base: entry?.api_base ?? '',
    api_key: '',
    // Built-in prices stay out of the form (its placeholder says "built-in"): saving must not pin them.
    input_cost_per_million: entry?.input_cost_per_token != null && ownPrices(entry) ? String(entry.input_cost_per_token * 1e6) : '',
    output_cost_per_million: entry?.output_cost_per_token != null && ownPrices(entry) ? String(entry.output_cost_per_token * 1e6) : '',
    mode: entry?.mode ?? 'chat',
  };
}

function inputOf(values: ModelFormValues): ModelInput {
  const params: ModelInput['litellm_params'] = { model: values.model.trim() };
  if (values.api_base.trim()) params.api_base = values.api_base.trim();
  // An empty key field on edit keeps the stored key.
  if (values.api_key.trim()) params.api_key = values.api_key.trim();
  const info: NonNullable<ModelInput['model_info']> = { mode: values.mode };
  if (values.input_cost_per_million.trim()) info.input_cost_per_token = Number(values.input_cost_per_million) / 1e6;
  if (values.output_cost_per_million.trim()) info.output_cost_per_token = Number(values.output_cost_per_million) / 1e6;
  return { model_name: values.model_name.trim(), litellm_params: params, model_info: info };
}

function ModelForm({ initial, editing, busy, error, onSubmit }: { initial: ModelFormValues; editing: boolean; busy: boolean; error: string | null; onSubmit: (values: ModelFormValues) => void }) {
  const [values, setValues] = useState(initial);
  const [problem, setProblem] = useState<string | null>(null);
  const set = (name: keyof ModelFormValues) => (event: { target: { value: string } }) => setValues({ ...values, [name]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!values.model_name.trim()) return setProblem('Enter the model name clients will send.');
    if (!/^[\w.-]+\/.+/.test(values.model.trim())) return setProblem('The upstream model is provider/model, e.g. openai/gpt-4o-mini.');
    for (const name of ['input_cost_per_million', 'output_cost_per_million'] as const) {
      if (values[name].trim() && !(Number(values[name]) >= 0)) return setProblem('Prices are numbers ≥ 0 (USD per million tokens).');
    }
    setProblem(null);
    onSubmit(values);
  };
  const shown = problem ?? error;
  return (
    <form className="form" onSubmit={submit}>
      <div className="form-grid">
        <Field label="Model name" hint="What clients send as model.">
          {(id) => <input id={id} value={values.model_name} onChange={set('model_name')} placeholder="gpt-4o-mini" required />}
        </Field>
        <Field label="Upstream model" hint="provider/model, as in config.yaml.">
          {(id) => <input id={id} value={values.model} onChange={set('model')} placeholder="openai/gpt-4o-mini" required />}
        </Field>
        <Field label="API base" hint="Empty: the provider's default.">
          {(id) => <input id={id} value={values.api_base} onChange={set('api_base')} placeholder="https://…" />}
        </Field>
        <Field label="API key" hint={editing ? 'Empty: keep the stored key.' : 'Stored encrypted; empty: the provider variable.'}>
          {(id) => <input id={id} type="password" autoComplete="off" value={values.api_key} onChange={set('api_key')} />}
        </Field>
        <Field label="Input price (USD / 1M tokens)">{(id) => <input id={id} inputMode="decimal" value={values.input_cost_per_million} onChange={set('input_cost_per_million')} placeholder="built-in" />}</Field>
        <Field label="Output price (USD / 1M tokens)">{(id) => <input id={id} inputMode="decimal" value={values.output_cost_per_million} onChange={set('output_cost_per_million')} placeholder="built-in" />}</Field>
        <Field label="Mode">
          {(id) => (
            <select id={id} value={values.mode} onChange={set('mode')}>
              <option value="chat">chat</option>
              <option value="embedding">embedding</option>
              <option value="completion">completion</option>
            </select>
          )}
        </Field>
      </div>
      <FormFooter error={shown} disabled={busy} submitLabel={busy ? 'Saving…' : editing ? 'Save changes' : 'Add model'} />
    </form>
  );
}

export function ModelsPage() {
  const queryClient = useQueryClient();
  const models = useQuery({ queryKey: ['model-info'], queryFn: modelInfo });
  const health = useQuery({ queryKey: ['provider-health'], queryFn: providerHealth });
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<ModelEntry | null>(null);
  const [filter, setFilter] = useState('');
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['model-info'] });
    void queryClient.invalidateQueries({ queryKey: ['public-models'] });
    void queryClient.invalidateQueries({ queryKey: ['provider-health'] });
  };
  const add = useMutation({
    mutationFn: (values: ModelFormValues) => addModel(inputOf(values)),
    onSuccess: () => {
      setAdding(false);
      notify('Model added');
      refresh();
    },
  });
  const update = useMutation({
    mutationFn: ({ id, values }: { id: string; values: ModelFormValues }) => updateModel(id, inputOf(values)),
    onSuccess: () => {
      setEditing(null);
      notify('Model updated');
      refresh();
    },
  });
  const toggle = useMutation({
    mutationFn: ({ id, enabled }: { id: string; enabled: boolean }) => setModelEnabled(id, enabled),
    onSuccess: (_result, variables) => {
      notify(variables.enabled ? 'Model enabled' : 'Model disabled');
      refresh();
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  const remove = useMutation({
    mutationFn: (id: string) => deleteModel(id),
    onSuccess: () => {
      notify('Model deleted');
      refresh();
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  const healthOf = (id: string) => health.data?.find((row) => row.deployment_id === id);

  return (
    <>
      <PageHeader
        title="Models"
        description="Deployments the gateway routes to, from config.yaml and added here."
        actions={
          <button
            type="button"
            className="button button-primary"
            onClick={() => {
              add.reset();
              setAdding(true);
            }}
          >
            Add model
          </button>
        }
      />
      <Card>
        <QueryView query={models} empty={(data) => (data.length === 0 ? <Empty title="No models configured">Add one here or in config.yaml.</Empty> : null)}>
          {(data) => {
            const shown = data.filter((entry) => `${entry.model_name} ${entry.provider} ${entry.upstream_model}`.toLowerCase().includes(filter.toLowerCase()));
            return (
              <>
                <div className="toolbar">
                  <label className="sr-only" htmlFor="model-filter">
                    Filter models
                  </label>
                  <input id="model-filter" type="search" placeholder="Filter by name or provider" value={filter} onChange={(event) => setFilter(event.target.value)} />
                  <span className="muted small">
                    {shown.length} of {data.length} deployments
                  </span>
                </div>
                <div className="table-wrap">
                  <table className="table">
                    <thead>
                      <tr>
                        <th scope="col">Model</th>
                        <th scope="col">Provider</th>
                        <th scope="col">Health</th>
                        <th scope="col">Price in / out (per 1M)</th>
                        <th scope="col">Status</th>
                        <th scope="col">
                          <span className="sr-only">Actions</span>
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {shown.map((entry) => {
                        const state = healthOf(entry.id);
                        return (
                          <tr key={entry.id} data-model-name={entry.model_name}>
                            <td>
                              <div className="strong">{entry.model_name}</div>
                              <code className="muted small">{entry.upstream_model}</code>
                              {entry.db_model ? null : <div className="muted small">from config.yaml</div>}
                            </td>
                            <td>{entry.provider}</td>
                            <td>{state ? <Badge tone={healthTone[state.status]}>{state.status}</Badge> : <span className="muted">{health.isError ? 'n/a' : '…'}</span>}</td>
                            <td>
                              {perMillion(entry.input_cost_per_token)} / {perMillion(entry.output_cost_per_token)}
                              {entry.price_source === 'built_in' ? <div className="muted small">built-in price</div> : null}
                            </td>
                            <td>
                              {entry.disabled ? <Badge tone="gray">disabled</Badge> : <Badge tone="green">enabled</Badge>}
                              {entry.available ? null : (
                                <div className="muted small wrap" title={entry.unavailable_reason ?? undefined}>
                                  unavailable{entry.unavailable_reason ? `: ${entry.unavailable_reason}` : ''}
                                </div>
                              )}
                            </td>
                            <td className="row-actions">
                              <button
                                type="button"
                                className="button button-small button-ghost"
                                onClick={() => {
                                  update.reset();
                                  setEditing(entry);
                                }}
                              >
                                Edit
                              </button>
                              <button type="button" className="button button-small button-ghost" disabled={toggle.isPending} onClick={() => toggle.mutate({ id: entry.id, enabled: entry.disabled })}>
                                {entry.disabled ? 'Enable' : 'Disable'}
                              </button>
                              <ConfirmButton label="Delete" onConfirm={() => remove.mutate(entry.id)} disabled={remove.isPending} />
                            </td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </div>
              </>
            );
          }}
        </QueryView>
      </Card>
      <Modal title="Add a model" open={adding} onClose={() => setAdding(false)} wide>
        <ModelForm initial={valuesOf()} editing={false} busy={add.isPending} error={add.error ? errorText(add.error) : null} onSubmit={(values) => add.mutate(values)} />
      </Modal>
      <Modal title={`Edit ${editing?.model_name ?? ''}`} open={editing !== null} onClose={() => setEditing(null)} wide>
        {editing ? <ModelForm initial={valuesOf(editing)} editing busy={update.isPending} error={update.error ? errorText(update.error) : null} onSubmit={(values) => update.mutate({ id: editing.id, values })} /> : null}
      </Modal>
    </>
  );
}
