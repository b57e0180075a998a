/** Guardrails: each configured guardrail's name, type, modes and whether it runs by default (never its word lists or patterns). */
import { useQuery } from '@tanstack/react-query';
import { listGuardrails } from '../api/guardrails';
import { Empty, QueryView } from '../components/states';
import { Badge, Card, PageHeader } from '../components/ui';

export function GuardrailsPage() {
  const guardrails = useQuery({ queryKey: ['guardrails'], queryFn: listGuardrails });
  return (
    <>
      <PageHeader
        title="Guardrails"
        description="The checks the gateway runs on prompts and answers (guardrails in config.yaml). A guardrail that is not on by default runs when a request or its key names it. A log row's detail shows which ran and what each did."
      />
      <Card title="Configured guardrails">
        <QueryView query={guardrails} empty={(data) => (data.length === 0 ? <Empty title="No guardrails configured">Add a guardrails list to config.yaml (README "Guardrails").</Empty> : null)}>
          {(data) => (
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Type</th>
                    <th scope="col">Modes</th>
                    <th scope="col">Default on</th>
                    <th scope="col">Settings</th>
                  </tr>
                </thead>
                <tbody>
                  {data.map((guardrail) => (
                    <tr key={guardrail.name} data-guardrail={guardrail.name}>
                      <td className="strong">{guardrail.name}</td>
                      <td data-field="type">
                        {guardrail.guardrail}
                        {guardrail.type === 'unavailable' ? (
                          <>
                            {' '}
                            <Badge tone="red">not built in: calls that need it are refused</Badge>
                          </>
                        ) : null}
                      </td>
                      <td data-field="modes">{guardrail.modes.join(', ') || '—'}</td>
                      <td data-field="default-on">{guardrail.defaultOn ? <Badge tone="green">on</Badge> : <Badge tone="gray">when named</Badge>}</td>
                      <td className="small" data-field="settings">
                        {guardrail.piiEntities
                          ? Object.entries(guardrail.piiEntities)
                              .map(([entity, action]) => `${entity}: ${action}`)
                              .join(', ') + (guardrail.outputParsePii ? ' · masked values restored in answers' : '')
                          : '—'}
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
  );
}
