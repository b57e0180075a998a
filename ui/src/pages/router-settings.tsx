/**
 * Router settings: strategy, retries, cooldowns, timeout and fallback chains — view and edit.
 * Saving sends only the fields that differ from the effective settings (PATCH /router/settings);
 * they apply at once on every replica. "Reset to config.yaml" drops every run-time change.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { chainsToLiteLLM, modelGroupNames, resetRouterSettings, routerSettings, updateRouterSettings, type RouterSettings } from '../api/gateway';
import { errorText, QueryView } from '../components/states';
import { Badge, Card, ConfirmButton, Field, FormFooter, notify, PageHeader } from '../components/ui';

const numberFields = [
  { name: 'num_retries', label: 'Retries', hint: 'Extra attempts on retryable failures.', placeholder: '0', whole: true },
  { name: 'retry_after', label: 'Retry after (s)', hint: 'Shortest wait before retrying the same deployment.', placeholder: '0', whole: false },
  { name: 'allowed_fails', label: 'Allowed fails per minute', hint: 'Failures before a deployment cools down.', placeholder: '3', whole: true },
  { name: 'cooldown_time', label: 'Cooldown (s)', hint: 'How long a failing deployment gets no traffic.', placeholder: '5', whole: false },
  { name: 'timeout', label: 'Timeout (s)', hint: 'Whole-request timeout of models without their own.', placeholder: '600', whole: false },
  { name: 'max_fallbacks', label: 'Max fallbacks', hint: 'Longest fallback chain tried per request.', placeholder: '5', whole: true },
] as const;
type NumberField = (typeof numberFields)[number]['name'];
const chainFields = [
  { name: 'fallbacks', label: 'Fallback chains', hint: 'When a group fails, try these groups in order.' },
  { name: 'context_window_fallbacks', label: 'Context-window fallbacks', hint: 'When a prompt is too long for the group.' },
  { name: 'content_policy_fallbacks', label: 'Content-policy fallbacks', hint: 'When the provider refuses the content.' },
] as const;
type ChainField = (typeof chainFields)[number]['name'];

interface ChainRow {
  key: number;
  group: string;
  targets: string[];
}

let nextKey = 1;
const rowsOf = (chains: Record<string, string[]>): ChainRow[] => Object.entries(chains).map(([group, targets]) => ({ key: nextKey++, group, targets: [...targets] }));
const text = (value: number | null) => (value === null ? '' : String(value));

/** Rows of "group → fallback, fallback", each picked from the gateway's model groups. */
function ChainEditor({ label, hint, rows, groups, onChange, changed }: { label: string; hint: string; rows: ChainRow[]; groups: string[]; onChange: (rows: ChainRow[]) => void; changed: boolean }) {
  const addButton = useRef<HTMLButtonElement>(null);
  const update = (key: number, change: Partial<ChainRow>) => onChange(rows.map((row) => (row.key === key ? { ...row, ...change } : row)));
  const singular = label.replace(/s$/, '');
  return (
    <fieldset className="fieldset chain-editor">
      <legend>
        {label} {changed ? <Badge tone="blue">changed at run time</Badge> : null}
      </legend>
      <p className="muted small">{hint}</p>
      {rows.length === 0 ? <p className="muted small">No chains.</p> : null}
      <ol className="chain-rows">
        {rows.map((row, index) => {
          const name = row.group || `row ${index + 1}`;
          const choices = groups.filter((group) => group !== row.group && !row.targets.includes(group));
          const known = new Set([...groups, row.group]);
          return (
            <li key={row.key} className="chain-row" data-chain-group={row.group}>
              <select aria-label={`${singular} ${index + 1}: model group`} value={row.group} onChange={(event) => update(row.key, { group: event.target.value })}>
                <option value="">Choose a group…</option>
                {[...known].filter(Boolean).map((group) => (
                  <option key={group}>{group}</option>
                ))}
              </select>
              <span className="chain-arrow" aria-hidden="true">
                →
              </span>
              <ol className="chain-targets" aria-label={`Fallbacks of ${name}`}>
                {row.targets.map((target, position) => (
                  <li key={target} className="chip">
                    <span>
                      {position + 1}. {target}
                    </span>
                    <button type="button" className="chip-remove" aria-label={`Remove ${target} from the fallbacks of ${name}`} onClick={() => update(row.key, { targets: row.targets.filter((item) => item !== target) })}>
                      ×
                    </button>
                  </li>
                ))}
              </ol>
              <select
                aria-label={`Add a fallback to ${name}`}
                value=""
                disabled={choices.length === 0}
                onChange={(event) => {
                  if (event.target.value) update(row.key, { targets: [...row.targets, event.target.value] });
                }}
              >
                <option value="">+ Add fallback…</option>
                {choices.map((group) => (
                  <option key={group}>{group}</option>
                ))}
              </select>
              <button
                type="button"
                className="button button-small button-ghost"
                aria-label={`Remove the ${singular.toLowerCase()} of ${name}`}
                onClick={() => {
                  onChange(rows.filter((item) => item.key !== row.key));
                  addButton.current?.focus();
                }}
              >
                Remove
              </button>
            </li>
          );
        })}
      </ol>
      <div>
        <button ref={addButton} type="button" className="button button-small" onClick={() => onChange([...rows, { key: nextKey++, group: '', targets: [] }])}>
          Add {singular.toLowerCase()}
        </button>
      </div>
    </fieldset>
  );
}

/** The changes to send, or a message saying what to fix. */
function changesOf(settings: RouterSettings, strategy: string, numbers: Record<NumberField, string>, disableCooldowns: boolean, chains: Record<ChainField, ChainRow[]>): Record<string, unknown> | string {
  const body: Record<string, unknown> = {};
  if (strategy !== settings.routing_strategy) body.routing_strategy = strategy;
  for (const field of numberFields) {
    const value = numbers[field.name].trim();
    const current = settings[field.name];
    if (value === '') {
      if (current !== null && field.name in settings.overrides) body[field.name] = null;
      continue;
    }
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0) return `${field.label}: enter a number, 0 or more`;
    if (field.whole && !Number.isInteger(parsed)) return `${field.label}: enter a whole number`;
    if (parsed !== current) body[field.name] = parsed;
  }
  if (disableCooldowns !== settings.disable_cooldowns) body.disable_cooldowns = disableCooldowns;
  for (const field of chainFields) {
    const map: Record<string, string[]> = {};
    for (const [index, row] of chains[field.name].entries()) {
      if (!row.group) return `${field.label}, row ${index + 1}: choose a model group`;
      if (row.targets.length === 0) return `${field.label}, ${row.group}: add a fallback group or remove the row`;
      if (map[row.group]) return `${field.label}: ${row.group} has two rows; keep one`;
      map[row.group] = row.targets;
    }
    if (JSON.stringify(map) !== JSON.stringify(settings[field.name])) body[field.name] = chainsToLiteLLM(map);
  }
  return body;
}

function SettingsForm({ settings, groups }: { settings: RouterSettings; groups: string[] }) {
  const queryClient = useQueryClient();
  const [strategy, setStrategy] = useState(settings.routing_strategy);
  const [numbers, setNumbers] = useState<Record<NumberField, string>>(() => Object.fromEntries(numberFields.map((field) => [field.name, text(settings[field.name])])) as Record<NumberField, string>);
  const [disableCooldowns, setDisableCooldowns] = useState(settings.disable_cooldowns);
  const [chains, setChains] = useState<Record<ChainField, ChainRow[]>>(() => ({
    fallbacks: rowsOf(settings.fallbacks),
    context_window_fallbacks: rowsOf(settings.context_window_fallbacks),
    content_policy_fallbacks: rowsOf(settings.content_policy_fallbacks),
  }));
  const [problem, setProblem] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['router-settings'] });
  const save = useMutation({
    mutationFn: updateRouterSettings,
    onSuccess: async () => {
      notify('Router settings saved: every replica uses them now');
      await refresh();
    },
  });
  const reset = useMutation({
    mutationFn: resetRouterSettings,
    onSuccess: async () => {
      notify('Router settings reset to config.yaml');
      await refresh();
    },
  });
  const overridden = (name: string) => name in settings.overrides;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body = changesOf(settings, strategy, numbers, disableCooldowns, chains);
    if (typeof body === 'string') return setProblem(body);
    setProblem(null);
    if (Object.keys(body).length === 0) return notify('Nothing changed');
    save.mutate(body);
  };
  const changedCount = Object.keys(settings.overrides).length;
  const shown = problem ?? (save.error ? errorText(save.error) : reset.error ? errorText(reset.error) : null);
  const busy = save.isPending || reset.isPending;
  return (
    <form className="form" onSubmit={submit} aria-busy={busy}>
      {settings.editable ? (
        <p className="muted" role="status">
          {changedCount === 0
            ? 'These are the settings from config.yaml. Changes saved here apply at once on every replica and are kept in the database.'
            : `${changedCount} setting${changedCount === 1 ? '' : 's'} changed at run time (${Object.keys(settings.overrides).join(', ')}), on top of config.yaml.`}
        </p>
      ) : (
        <p className="notice" role="status">
          These settings come from <code>router_settings</code> in config.yaml: change them there and restart the gateway.
        </p>
      )}
      <fieldset className="plain" disabled={!settings.editable || busy}>
        <div className="form-grid">
          <Field label="Routing strategy" hint={overridden('routing_strategy') ? 'Changed at run time.' : 'How a group spreads requests over its deployments.'}>
            {(id) => (
              <select id={id} value={strategy} onChange={(event) => setStrategy(event.target.value)}>
                {settings.available_strategies.map((name) => (
                  <option key={name}>{name}</option>
                ))}
              </select>
            )}
          </Field>
          {numberFields.map((field) => (
            <Field key={field.name} label={field.label} hint={overridden(field.name) ? `Changed at run time. ${field.hint}` : field.hint}>
              {(id) => <input id={id} inputMode={field.whole ? 'numeric' : 'decimal'} value={numbers[field.name]} placeholder={field.placeholder} onChange={(event) => setNumbers({ ...numbers, [field.name]: event.target.value })} />}
            </Field>
          ))}
        </div>
        <label className="check">
          <input type="checkbox" checked={disableCooldowns} onChange={(event) => setDisableCooldowns(event.target.checked)} /> Disable cooldowns (failing deployments keep getting traffic)
        </label>
        {chainFields.map((field) => (
          <ChainEditor key={field.name} label={field.label} hint={field.hint} rows={chains[field.name]} groups={groups} changed={overridden(field.name)} onChange={(rows) => setChains({ ...chains, [field.name]: rows })} />
        ))}
      </fieldset>
      <FormFooter
        error={shown}
        actions={settings.editable}
        disabled={busy}
        submitLabel={save.isPending ? 'Saving…' : 'Save settings'}
        extra={<ConfirmButton label="Reset to config.yaml" confirmLabel="Confirm reset to config.yaml" disabled={busy || changedCount === 0} onConfirm={() => reset.mutate()} />}
      />
    </form>
  );
}

export function RouterSettingsPage() {
  const settings = useQuery({ queryKey: ['router-settings'], queryFn: routerSettings });
  const groups = useQuery({ queryKey: ['model-groups'], queryFn: modelGroupNames });
  return (
    <>
      <PageHeader title="Router settings" description="How requests are spread over deployments, retried and sent to fallbacks." />
      <Card>
        {/* Keyed by the settings: after a save or reset the form shows what the gateway now uses. */}
        <QueryView query={settings}>{(data) => <SettingsForm key={JSON.stringify(data)} settings={data} groups={groups.data ?? []} />}</QueryView>
      </Card>
    </>
  );
}
