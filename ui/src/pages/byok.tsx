/** Bring your own key: your own provider keys, stored encrypted and shown masked. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { deleteByokKey, listByokKeys, saveByokKey } from '../api/gateway';
import { Empty, errorText, QueryView } from '../components/states';
import { Card, ConfirmButton, Field, notify, PageHeader } from '../components/ui';
import { dateTime } from '../format';
import type { Session } from '../session';

const providers = ['openai', 'anthropic', 'gemini', 'cohere', 'groq', 'mistral', 'together_ai', 'fireworks_ai', 'deepseek', 'xai', 'openrouter', 'perplexity', 'deepinfra', 'huggingface'];

export function ByokPage({ session }: { session: Session }) {
  const queryClient = useQueryClient();
  const admin = session.role === 'admin';
  // An administrator has no provider keys of their own: they manage a user's.
  const [userDraft, setUserDraft] = useState('');
  const [userId, setUserId] = useState<string | undefined>(undefined);
  const keys = useQuery({ queryKey: ['byok', userId], queryFn: () => listByokKeys(userId), enabled: !admin || userId !== undefined });
  const [provider, setProvider] = useState('openai');
  const [apiKey, setApiKey] = useState('');
  const save = useMutation({
    mutationFn: () => saveByokKey({ provider, api_key: apiKey.trim(), user_id: userId }),
    onSuccess: () => {
      setApiKey('');
      notify(`Key for ${provider} saved`);
      void queryClient.invalidateQueries({ queryKey: ['byok'] });
    },
  });
  const remove = useMutation({
    mutationFn: (name: string) => deleteByokKey(name, userId),
    onSuccess: () => {
      notify('Key removed');
      void queryClient.invalidateQueries({ queryKey: ['byok'] });
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  return (
    <>
      <PageHeader
        title="BYOK"
        description={admin ? "Users' own provider keys: requests for that provider use the user's key." : 'Your own provider keys. Requests for that provider use your key and are billed by the provider to you.'}
      />
      {admin ? (
        <Card title="User">
          <form
            className="form inline-form"
            onSubmit={(event) => {
              event.preventDefault();
              setUserId(userDraft.trim() || undefined);
            }}
          >
            <Field label="User id">{(id) => <input id={id} value={userDraft} onChange={(event) => setUserDraft(event.target.value)} placeholder="e.g. ada" />}</Field>
            <button type="submit" className="button">
              Show keys
            </button>
          </form>
        </Card>
      ) : null}
      {admin && userId === undefined ? (
        <Card>
          <Empty title="Choose a user">Enter a user id to see and manage that user's provider keys.</Empty>
        </Card>
      ) : (
        <>
          <Card title="Add or replace a key">
            <form
              className="form inline-form"
              onSubmit={(event) => {
                event.preventDefault();
                if (!apiKey.trim()) return notify('Paste the provider key', 'error');
                save.mutate();
              }}
            >
              <Field label="Provider">
                {(id) => (
                  <select id={id} value={provider} onChange={(event) => setProvider(event.target.value)}>
                    {providers.map((name) => (
                      <option key={name}>{name}</option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="Provider API key">{(id) => <input id={id} type="password" autoComplete="off" value={apiKey} onChange={(event) => setApiKey(event.target.value)} />}</Field>
              <button type="submit" className="button button-primary" disabled={save.isPending}>
                {save.isPending ? 'Saving…' : 'Save key'}
              </button>
            </form>
            {save.error ? (
              <p className="form-error" role="alert">
                {errorText(save.error)}
              </p>
            ) : null}
          </Card>
          <Card title={admin ? `Keys of ${userId}` : 'Your keys'}>
            <QueryView query={keys} empty={(data) => (data.length === 0 ? <Empty title="No provider keys yet">Requests use the gateway's own provider keys.</Empty> : null)}>
              {(data) => (
                <div className="table-wrap">
                  <table className="table">
                    <thead>
                      <tr>
                        <th scope="col">Provider</th>
                        <th scope="col">Key</th>
                        <th scope="col">Added</th>
                        <th scope="col">
                          <span className="sr-only">Actions</span>
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.map((row) => (
                        <tr key={row.provider}>
                          <td className="strong">{row.provider}</td>
                          <td>
                            <code>{row.api_key}</code>
                          </td>
                          <td>{dateTime(row.updated_at)}</td>
                          <td className="row-actions">
                            <ConfirmButton label="Remove" onConfirm={() => remove.mutate(row.provider)} disabled={remove.isPending} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </QueryView>
          </Card>
        </>
      )}
    </>
  );
}
