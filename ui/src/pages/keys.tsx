/** Virtual keys: create (secret shown once), edit limits, block, delete. Users see their own key. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { deleteKeys, generateKey, keyInfoSelf, listKeys, publicModels, setKeyBlocked, updateKey, type KeyInput, type KeyView } from '../api/gateway';
import { Empty, errorText, QueryView } from '../components/states';
import { Badge, Card, ConfirmButton, CopyButton, Field, FormFooter, Modal, notify, PageHeader, Pager } from '../components/ui';
import { dateTime, usd } from '../format';
import type { Session } from '../session';

function keyStatus(key: KeyView) {
  if (key.blocked) return <Badge tone="red">blocked</Badge>;
  if (key.expires && Date.parse(key.expires) < Date.now()) return <Badge tone="gray">expired</Badge>;
  return <Badge tone="green">active</Badge>;
}

function budgetText(key: KeyView): string {
  return key.max_budget === null ? `${usd(key.spend)} spent` : `${usd(key.spend)} of ${usd(key.max_budget)}${key.budget_duration ? ` / ${key.budget_duration}` : ''}`;
}

function limitsText(key: KeyView): string {
  const perModel = (limits: Record<string, number> | undefined, unit: string) => Object.entries(limits ?? {}).map(([model, limit]) => `${model}: ${limit} ${unit}`);
  const parts = [
    key.rpm_limit !== null ? `${key.rpm_limit} rpm` : null,
    key.tpm_limit !== null ? `${key.tpm_limit} tpm` : null,
    key.max_parallel_requests !== null ? `${key.max_parallel_requests} parallel` : null,
    ...perModel(key.model_rpm_limit, 'rpm'),
    ...perModel(key.model_tpm_limit, 'tpm'),
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : 'none';
}

const optionalNumber = (text: string): number | null => (text.trim() === '' ? null : Number(text));

interface KeyFormValues {
  key_alias: string;
  models: string[];
  max_budget: string;
  budget_duration: string;
  rpm_limit: string;
  tpm_limit: string;
  duration: string;
  user_id: string;
  team_id: string;
  vector_stores: string;
}

/** Vector store ids as typed: separated by commas, spaces or new lines. */
const storeIds = (text: string): string[] => [...new Set(text.split(/[\s,]+/).filter(Boolean))];

function valuesOf(key?: KeyView): KeyFormValues {
  return {
    key_alias: key?.key_alias ?? '',
    models: key?.models ?? [],
    max_budget: key?.max_budget?.toString() ?? '',
    budget_duration: key?.budget_duration ?? '',
    rpm_limit: key?.rpm_limit?.toString() ?? '',
    tpm_limit: key?.tpm_limit?.toString() ?? '',
    duration: '',
    user_id: key?.user_id ?? '',
    team_id: key?.team_id ?? '',
    vector_stores: (key?.object_permission?.vector_stores ?? []).join(', '),
  };
}

function inputOf(values: KeyFormValues, creating: boolean): KeyInput {
  const input: KeyInput = {
    key_alias: values.key_alias.trim() || null,
    models: values.models,
    max_budget: optionalNumber(values.max_budget),
    budget_duration: values.budget_duration.trim() || null,
    rpm_limit: optionalNumber(values.rpm_limit),
    tpm_limit: optionalNumber(values.tpm_limit),
    object_permission: { vector_stores: storeIds(values.vector_stores) },
  };
  if (values.duration.trim()) input.duration = values.duration.trim();
  if (creating) {
    if (values.user_id.trim()) input.user_id = values.user_id.trim();
    if (values.team_id.trim()) input.team_id = values.team_id.trim();
  }
  return input;
}

function KeyForm({ initial, creating, onSubmit, busy, error }: { initial: KeyFormValues; creating: boolean; onSubmit: (values: KeyFormValues) => void; busy: boolean; error: string | null }) {
  const [values, setValues] = useState(initial);
  const models = useQuery({ queryKey: ['public-models'], queryFn: publicModels });
  const set = (name: keyof KeyFormValues) => (event: { target: { value: string } }) => setValues({ ...values, [name]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    for (const name of ['max_budget', 'rpm_limit', 'tpm_limit'] as const) {
      const text = values[name].trim();
      if (text !== '' && !(Number(text) >= 0)) {
        notify(`${name.replace('_', ' ')} must be a number ≥ 0 (or empty for no limit)`, 'error');
        return;
      }
    }
    onSubmit(values);
  };
  return (
    <form onSubmit={submit} className="form">
      <div className="form-grid">
        <Field label="Alias" hint="A name to recognise the key by (unique).">
          {(id) => <input id={id} value={values.key_alias} onChange={set('key_alias')} placeholder="e.g. billing-service" />}
        </Field>
        <Field label={creating ? 'Expires after' : 'New expiry from now'} hint="30m, 12h, 30d, 1mo — empty: never.">
          {(id) => <input id={id} value={values.duration} onChange={set('duration')} placeholder={creating ? 'never' : 'unchanged'} />}
        </Field>
        <Field label="Budget (USD)" hint="Empty: no budget.">
          {(id) => <input id={id} inputMode="decimal" value={values.max_budget} onChange={set('max_budget')} placeholder="no limit" />}
        </Field>
        <Field label="Budget resets every" hint="e.g. 30d, 1mo — empty: never.">
          {(id) => <input id={id} value={values.budget_duration} onChange={set('budget_duration')} placeholder="never" />}
        </Field>
        <Field label="Requests per minute">{(id) => <input id={id} inputMode="numeric" value={values.rpm_limit} onChange={set('rpm_limit')} placeholder="no limit" />}</Field>
        <Field label="Tokens per minute">{(id) => <input id={id} inputMode="numeric" value={values.tpm_limit} onChange={set('tpm_limit')} placeholder="no limit" />}</Field>
        <Field label="Vector stores" hint="Ids file_search may read (vs_…), comma-separated. A store granted to any key or team is reserved to them; empty: only stores granted to nobody.">
          {(id) => <input id={id} value={values.vector_stores} onChange={set('vector_stores')} placeholder="none granted" />}
        </Field>
        {creating ? (
          <>
            <Field label="User id" hint="Optional owner (must exist).">
              {(id) => <input id={id} value={values.user_id} onChange={set('user_id')} />}
            </Field>
            <Field label="Team id" hint="Optional team (must exist).">
              {(id) => <input id={id} value={values.team_id} onChange={set('team_id')} />}
            </Field>
          </>
        ) : null}
      </div>
      <fieldset className="fieldset">
        <legend>Models</legend>
        <p className="muted small">None ticked: the key may call every model.</p>
        {models.isPending ? (
          <span className="muted">Loading models…</span>
        ) : models.isError ? (
          <span className="form-error">{errorText(models.error)}</span>
        ) : (
          <div className="checks">
            {[...new Set([...models.data, ...values.models])].map((model) => (
              <label key={model} className="check">
                <input
                  type="checkbox"
                  checked={values.models.includes(model)}
                  onChange={(event) => setValues({ ...values, models: event.target.checked ? [...values.models, model] : values.models.filter((item) => item !== model) })}
                />
                {model}
              </label>
            ))}
          </div>
        )}
      </fieldset>
      <FormFooter error={error} disabled={busy} submitLabel={busy ? 'Saving…' : creating ? 'Create key' : 'Save changes'} />
    </form>
  );
}

function AdminKeys() {
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<KeyView | null>(null);
  const [secret, setSecret] = useState<{ key: string; alias: string | null } | null>(null);
  const keys = useQuery({ queryKey: ['keys', page], queryFn: () => listKeys({ page, size: 25 }) });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['keys'] });

  const create = useMutation({
    mutationFn: (values: KeyFormValues) => generateKey(inputOf(values, true)),
    onSuccess: (created) => {
      setCreating(false);
      setSecret({ key: created.key, alias: created.key_alias });
      refresh();
    },
  });
  const update = useMutation({
    mutationFn: ({ token, values }: { token: string; values: KeyFormValues }) => updateKey(token, inputOf(values, false)),
    onSuccess: () => {
      setEditing(null);
      notify('Key updated');
      refresh();
    },
  });
  const block = useMutation({
    mutationFn: ({ token, blocked }: { token: string; blocked: boolean }) => setKeyBlocked(token, blocked),
    onSuccess: (key) => {
      notify(key.blocked ? 'Key blocked' : 'Key unblocked');
      refresh();
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  const remove = useMutation({
    mutationFn: (token: string) => deleteKeys([token]),
    onSuccess: () => {
      notify('Key deleted');
      refresh();
    },
    onError: (error) => notify(errorText(error), 'error'),
  });

  return (
    <>
      <PageHeader
        title="Keys"
        description="Virtual keys for services and people: allowed models, limits, budget and expiry."
        actions={
          <button
            type="button"
            className="button button-primary"
            onClick={() => {
              create.reset();
              setCreating(true);
            }}
          >
            Create key
          </button>
        }
      />
      <Card>
        <QueryView query={keys} empty={(data) => (data.keys.length === 0 ? <Empty title="No keys yet">Create one to give a service or a person access.</Empty> : null)}>
          {(data) => (
            <>
              <div className="table-wrap">
                <table className="table">
                  <thead>
                    <tr>
                      <th scope="col">Key</th>
                      <th scope="col">Status</th>
                      <th scope="col">Models</th>
                      <th scope="col">Spend / budget</th>
                      <th scope="col">Limits</th>
                      <th scope="col">Expires</th>
                      <th scope="col">
                        <span className="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.keys.map((key) => (
                      <tr key={key.token} data-key-alias={key.key_alias ?? undefined}>
                        <td>
                          <div className="strong">{key.key_alias ?? <span className="muted">no alias</span>}</div>
                          <code className="muted small">{key.key_name}</code>
                          {key.user_id ? <div className="muted small">user {key.user_id}</div> : null}
                        </td>
                        <td>{keyStatus(key)}</td>
                        <td>{key.models.length ? key.models.join(', ') : <span className="muted">all</span>}</td>
                        <td>{budgetText(key)}</td>
                        <td>{limitsText(key)}</td>
                        <td>{key.expires ? dateTime(key.expires) : <span className="muted">never</span>}</td>
                        <td className="row-actions">
                          <button
                            type="button"
                            className="button button-small button-ghost"
                            onClick={() => {
                              update.reset();
                              setEditing(key);
                            }}
                          >
                            Edit
                          </button>
                          <button type="button" className="button button-small button-ghost" disabled={block.isPending} onClick={() => block.mutate({ token: key.token, blocked: !key.blocked })}>
                            {key.blocked ? 'Unblock' : 'Block'}
                          </button>
                          <ConfirmButton label="Delete" onConfirm={() => remove.mutate(key.token)} disabled={remove.isPending} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {data.total_pages > 1 ? (
                <Pager page={page} onPage={setPage} hasNext={page < data.total_pages}>
                  Page {data.current_page} of {data.total_pages} · {data.total_count} keys
                </Pager>
              ) : null}
            </>
          )}
        </QueryView>
      </Card>

      <Modal title="Create a key" open={creating} onClose={() => setCreating(false)} wide>
        <KeyForm initial={valuesOf()} creating busy={create.isPending} error={create.error ? errorText(create.error) : null} onSubmit={(values) => create.mutate(values)} />
      </Modal>
      <Modal title={`Edit ${editing?.key_alias ?? editing?.key_name ?? 'key'}`} open={editing !== null} onClose={() => setEditing(null)} wide>
        {editing ? (
          <KeyForm initial={valuesOf(editing)} creating={false} busy={update.isPending} error={update.error ? errorText(update.error) : null} onSubmit={(values) => update.mutate({ token: editing.token, values })} />
        ) : null}
      </Modal>
      <Modal title="Your new key" open={secret !== null} onClose={() => setSecret(null)}>
        {secret ? (
          <div className="secret-box">
            <p>
              Copy the key for <strong>{secret.alias ?? 'this key'}</strong> now: <strong>it is shown only once</strong>. The gateway keeps only its hash.
            </p>
            <div className="secret-row">
              <code className="secret" data-testid="new-key-secret">
                {secret.key}
              </code>
              <CopyButton text={secret.key} />
            </div>
            <div className="form-actions">
              <button type="button" className="button button-primary" onClick={() => setSecret(null)}>
                I have copied it
              </button>
            </div>
          </div>
        ) : null}
      </Modal>
    </>
  );
}

function OwnKey() {
  const self = useQuery({ queryKey: ['key-self'], queryFn: () => keyInfoSelf() });
  return (
    <>
      <PageHeader title="Your key" description="The key you signed in with: its models, limits and spend." />
      <Card>
        <QueryView query={self}>
          {({ info }) => (
            <dl className="details">
              <dt>Key</dt>
              <dd>
                <code>{info.key_name}</code> {keyStatus(info)}
              </dd>
              <dt>Alias</dt>
              <dd>{info.key_alias ?? '—'}</dd>
              <dt>Models</dt>
              <dd>{info.models.length ? info.models.join(', ') : 'all models'}</dd>
              <dt>Spend / budget</dt>
              <dd>{budgetText(info)}</dd>
              <dt>Limits</dt>
              <dd>{limitsText(info)}</dd>
              <dt>Expires</dt>
              <dd>{info.expires ? dateTime(info.expires) : 'never'}</dd>
            </dl>
          )}
        </QueryView>
      </Card>
    </>
  );
}

export function KeysPage({ session }: { session: Session }) {
  return session.role === 'admin' ? <AdminKeys /> : <OwnKey />;
}
