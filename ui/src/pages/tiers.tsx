/** Tiers: each platform tier's markup, the models it may call, BYOK, power levels, monthly allowance and how many users it has. */
import { useQuery } from '@tanstack/react-query';
import { listTiers } from '../api/routing';
import { Empty, QueryView } from '../components/states';
import { Badge, Card, PageHeader } from '../components/ui';

export function TiersPage() {
  const tiers = useQuery({ queryKey: ['tiers'], queryFn: listTiers });
  return (
    <>
      <PageHeader title="Tiers" description="What each tier's users pay over the provider cost and which models they may reach (platform.tiers in config.yaml)." />
      <Card title="Tiers">
        <QueryView query={tiers} empty={(data) => (data.tiers.length === 0 ? <Empty title="No tiers" /> : null)}>
          {(data) => (
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Tier</th>
                    <th scope="col">Markup</th>
                    <th scope="col">Models</th>
                    <th scope="col">BYOK</th>
                    <th scope="col">Power levels</th>
                    <th scope="col">Initial credits</th>
                    <th scope="col">Monthly allowance</th>
                    <th scope="col">Users</th>
                  </tr>
                </thead>
                <tbody>
                  {data.tiers.map((tier) => (
                    <tr key={tier.name} data-tier={tier.name}>
                      <td className="strong">
                        {tier.name} {tier.name === data.default_tier ? <Badge tone="blue">default</Badge> : null}
                      </td>
                      <td>{Math.round(tier.markup * 100)}%</td>
                      <td className="small">{tier.models ? tier.models.join(', ') || 'none' : 'every model'}</td>
                      <td>{tier.byok ? <Badge tone="green">allowed</Badge> : <Badge tone="gray">no</Badge>}</td>
                      <td className="small">{tier.power_levels ? tier.power_levels.join(', ') : 'all'}</td>
                      <td>{tier.initial_credits}</td>
                      <td>{tier.monthly_credits > 0 ? `${tier.monthly_credits}${tier.rollover ? ' (rolls over)' : ' (expires)'}` : 'none'}</td>
                      <td>{tier.users}</td>
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
