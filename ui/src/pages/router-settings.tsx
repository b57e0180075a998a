/** Router settings: strategy, retries, cooldowns and fallback chains — view and edit. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { chainsToLiteLLM, routerSettings, updateRouterSettings, type RouterSettings } from '../api/gateway';
import { errorText, QueryView } from '../components/states';
import { Card, Field, notify, PageHeader } from '../components/ui';

const strategies = ['simple-shuffle', 'least-busy', 'latency-based-routing', 'usage-based-routing-v2', 'cost-based-routing'];

/** "gpt-4o: gpt-4o-mini, claude" lines ⇄ {gpt-4o: [gpt-4o-mini, claude]}. */
function chainsToText(chains: Record<string, string[]>): string {
  return Object.entries(chains)
    .map(([group, targets]) => `${group}: ${targets.join(', ')}`)
    .join('\n');
}

function textToChains(text: string): Record<string, string[]> | string {
  const chains: Record<string, string[]> = {};
  for (const [index, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return `line ${index + 1}: write "group: fallback, fallback"`;
    chains[line.slice(0, colon).trim()] = line
      .slice(colon + 1)
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  }
  return chains;
}

function SettingsForm({ settings }: { settings: RouterSettings }) {
  const queryClient = useQueryClient();
  const [values, setValues] = useState({
    routing_strategy: settings.routing_strategy ?? 'simple-shuffle',
    num_retries: settings.num_retries?.toString() ?? '',
    retry_after: settings.retry_after?.toString() ?? '',
    allowed_fails: settings.allowed_fails?.toString() ?? '',
    cooldown_time: settings.cooldown_time?.toString() ?? '',
    timeout: settings.timeout?.toString() ?? '',
    fallbacks: chainsToText(settings.fallbacks),
    context_window_fallbacks: chainsToText(settings.context_window_fallbacks),
  });
  const [problem, setProblem] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: updateRouterSettings,
    onSuccess: () => {
      notify('Router settings saved');
      void queryClient.invalidateQueries({ queryKey: ['router-settings'] });
    },
  });
  const set = (name: keyof typeof values) => (event: { target: { value: string } }) => setValues({ ...values, [name]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body: Record<string, unknown> = { routing_strategy: values.routing_strategy };
    for (const name of ['num_retries', 'retry_after', 'allowed_fails', 'cooldown_time', 'timeout'] as const) {
      const text = values[name].trim();
      if (text === '') continue;
      if (!(Number(text) >= 0)) return setProblem(`${name} must be a number ≥ 0`);
      body[name] = Number(text);
    }
    for (const name of ['fallbacks', 'context_window_fallbacks'] as const) {
      const chains = textToChains(values[name]);
      if (typeof chains === 'string') return setProblem(`${name}: ${chains}`);
      body[name] = chainsToLiteLLM(chains);
    }
    setProblem(null);
    save.mutate(body);
  };
  const shown = problem ?? (save.error ? errorText(save.error) : null);
  return (
    <form className="form" onSubmit={submit}>
      {settings.editable ? null : (
        <p className="notice" role="status">
          These settings come from <code>router_settings</code> in config.yaml: change them there and restart the gateway.
        </p>
      )}
      <fieldset className="plain" disabled={!settings.editable}>
        <div className="form-grid">
          <Field label="Routing strategy">
            {(id) => (
              <select id={id} value={values.routing_strategy} onChange={set('routing_strategy')}>
                {[...new Set([...strategies, values.routing_strategy])].map((strategy) => (
                  <option key={strategy}>{strategy}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Retries" hint="Extra attempts on retryable failures.">{(id) => <input id={id} inputMode="numeric" value={values.num_retries} onChange={set('num_retries')} placeholder="0" />}</Field>
          <Field label="Retry after (s)">{(id) => <input id={id} inputMode="decimal" value={values.retry_after} onChange={set('retry_after')} placeholder="0" />}</Field>
          <Field label="Allowed fails per minute">{(id) => <input id={id} inputMode="numeric" value={values.allowed_fails} onChange={set('allowed_fails')} placeholder="3" />}</Field>
          <Field label="Cooldown (s)">{(id) => <input id={id} inputMode="decimal" value={values.cooldown_time} onChange={set('cooldown_time')} placeholder="5" />}</Field>
          <Field label="Timeout (s)">{(id) => <input id={id} inputMode="decimal" value={values.timeout} onChange={set('timeout')} placeholder="600" />}</Field>
        </div>
        <Field label="Fallback chains" hint="One per line: group: fallback, fallback">
          {(id) => <textarea id={id} rows={4} value={values.fallbacks} onChange={set('fallbacks')} placeholder="gpt-4o: gpt-4o-mini, claude-sonnet" />}
        </Field>
        <Field label="Context-window fallbacks" hint="Used when a prompt is too long for the group.">
          {(id) => <textarea id={id} rows={3} value={values.context_window_fallbacks} onChange={set('context_window_fallbacks')} />}
        </Field>
      </fieldset>
      {shown ? (
        <p className="form-error" role="alert">
          {shown}
        </p>
      ) : null}
      {settings.editable ? (
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      ) : null}
    </form>
  );
}

export function RouterSettingsPage() {
  const settings = useQuery({ queryKey: ['router-settings'], queryFn: routerSettings });
  return (
    <>
      <PageHeader title="Router settings" description="How requests are spread over deployments, retried and sent to fallbacks." />
      <Card>
        <QueryView query={settings}>{(data) => <SettingsForm settings={data} />}</QueryView>
      </Card>
    </>
  );
}
