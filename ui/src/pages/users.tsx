/** Users (role, tier, spend, credits: grant and history) and teams. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { addCredits, createTeam, createUser, deleteTeams, deleteUsers, listTeams, listUsers, updateUser, type UserView } from '../api/gateway';
import { Empty, errorText, QueryView } from '../components/states';
import { Badge, Card, ConfirmButton, CopyButton, Field, FormFooter, Modal, notify, PageHeader, Pager } from '../components/ui';
import { usd } from '../format';
import { CreditsPanel } from './credits';

const roles = ['internal_user', 'internal_user_viewer', 'proxy_admin', 'proxy_admin_viewer', 'customer'];

function NewUserForm({ onDone }: { onDone: (key?: string) => void }) {
  const queryClient = useQueryClient();
  const [values, setValues] = useState({ user_id: '', user_email: '', user_role: 'internal_user', max_budget: '', tier: '' });
  const create = useMutation({
    mutationFn: () =>
      createUser({
        user_id: values.user_id.trim() || undefined,
        user_email: values.user_email.trim() || undefined,
        user_role: values.user_role,
        max_budget: values.max_budget.trim() ? Number(values.max_budget) : undefined,
        tier: values.tier.trim() || undefined,
      }),
    onSuccess: (user) => {
      void queryClient.invalidateQueries({ queryKey: ['users'] });
      void queryClient.invalidateQueries({ queryKey: ['keys'] });
      onDone(user.key);
    },
  });
  const set = (name: keyof typeof values) => (event: { target: { value: string } }) => setValues({ ...values, [name]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form className="form" onSubmit={submit}>
      <div className="form-grid">
        <Field label="User id" hint="Empty: generated.">{(id) => <input id={id} value={values.user_id} onChange={set('user_id')} />}</Field>
        <Field label="Email">{(id) => <input id={id} type="email" value={values.user_email} onChange={set('user_email')} />}</Field>
        <Field label="Role">
          {(id) => (
            <select id={id} value={values.user_role} onChange={set('user_role')}>
              {roles.map((role) => (
                <option key={role}>{role}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Tier" hint="e.g. free, pro, enterprise.">{(id) => <input id={id} value={values.tier} onChange={set('tier')} />}</Field>
        <Field label="Budget (USD)" hint="Empty: no budget.">{(id) => <input id={id} inputMode="decimal" value={values.max_budget} onChange={set('max_budget')} />}</Field>
      </div>
      <FormFooter error={create.error ? errorText(create.error) : null} disabled={create.isPending} submitLabel={create.isPending ? 'Creating…' : 'Create user'} />
    </form>
  );
}

function GrantCredits({ userId }: { userId: string }) {
  const queryClient = useQueryClient();
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const grant = useMutation({
    mutationFn: () => addCredits({ user_id: userId, amount: Number(amount), description: reason.trim() || undefined }),
    onSuccess: () => {
      notify(`Granted ${amount} credits to ${userId}`);
      setAmount('');
      setReason('');
      void queryClient.invalidateQueries({ queryKey: ['credits', userId] });
    },
  });
  return (
    <form
      className="form inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (!(Number(amount) > 0)) return notify('Enter a number of credits greater than 0', 'error');
        grant.mutate();
      }}
    >
      <Field label="Credits to grant">{(id) => <input id={id} inputMode="decimal" value={amount} onChange={(event) => setAmount(event.target.value)} />}</Field>
      <Field label="Reason">{(id) => <input id={id} value={reason} onChange={(event) => setReason(event.target.value)} placeholder="optional" />}</Field>
      <button className="button button-primary" type="submit" disabled={grant.isPending}>
        Grant
      </button>
      {grant.error ? (
        <p className="form-error" role="alert">
          {errorText(grant.error)}
        </p>
      ) : null}
    </form>
  );
}

function UserDetail({ user }: { user: UserView }) {
  const queryClient = useQueryClient();
  const [tier, setTier] = useState(user.tier ?? '');
  const save = useMutation({
    mutationFn: () => updateUser({ user_id: user.user_id, tier: tier.trim() }),
    onSuccess: () => {
      notify('Tier saved');
      void queryClient.invalidateQueries({ queryKey: ['users'] });
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  return (
    <div className="stack">
      <dl className="details">
        <dt>User</dt>
        <dd>{user.user_id}</dd>
        <dt>Email</dt>
        <dd>{user.user_email ?? '—'}</dd>
        <dt>Role</dt>
        <dd>{user.user_role ?? '—'}</dd>
        <dt>Spend / budget</dt>
        <dd>
          {usd(user.spend)} {user.max_budget !== null ? `of ${usd(user.max_budget)}` : ''}
        </dd>
      </dl>
      <form
        className="form inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          save.mutate();
        }}
      >
        <Field label="Tier">{(id) => <input id={id} value={tier} onChange={(event) => setTier(event.target.value)} />}</Field>
        <button className="button" type="submit" disabled={save.isPending || !tier.trim()}>
          Save tier
        </button>
      </form>
      <h3>Credits</h3>
      <GrantCredits userId={user.user_id} />
      <CreditsPanel userId={user.user_id} />
    </div>
  );
}

function Users() {
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const users = useQuery({ queryKey: ['users', page], queryFn: () => listUsers({ page, page_size: 25 }) });
  const [creating, setCreating] = useState(false);
  const [createdKey, setCreatedKey] = useState<string | null>(null);
  const [selected, setSelected] = useState<UserView | null>(null);
  const remove = useMutation({
    mutationFn: (userId: string) => deleteUsers([userId]),
    onSuccess: () => {
      notify('User deleted');
      void queryClient.invalidateQueries({ queryKey: ['users'] });
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  return (
    <Card
      title="Users"
      actions={
        <button type="button" className="button button-primary button-small" onClick={() => setCreating(true)}>
          New user
        </button>
      }
    >
      <QueryView query={users} empty={(data) => (data.users.length === 0 ? <Empty title="No users yet" /> : null)}>
        {(data) => (
          <>
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">User</th>
                    <th scope="col">Role</th>
                    <th scope="col">Tier</th>
                    <th scope="col">Spend / budget</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.users.map((user) => (
                    <tr key={user.user_id}>
                      <td>
                        <div className="strong">{user.user_id}</div>
                        <div className="muted small">{user.user_email ?? ''}</div>
                      </td>
                      <td>{user.user_role === 'proxy_admin' ? <Badge tone="blue">admin</Badge> : (user.user_role ?? '—')}</td>
                      <td>{user.tier ?? <span className="muted">—</span>}</td>
                      <td>
                        {usd(user.spend)}
                        {user.max_budget !== null ? ` of ${usd(user.max_budget)}` : ''}
                      </td>
                      <td className="row-actions">
                        <button type="button" className="button button-small button-ghost" onClick={() => setSelected(user)}>
                          Credits & tier
                        </button>
                        <ConfirmButton label="Delete" onConfirm={() => remove.mutate(user.user_id)} disabled={remove.isPending} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {data.total_pages > 1 ? (
              <Pager page={page} onPage={setPage} hasNext={page < data.total_pages}>
                Page {data.page} of {data.total_pages}
              </Pager>
            ) : null}
          </>
        )}
      </QueryView>
      <Modal title="New user" open={creating} onClose={() => setCreating(false)} wide>
        <NewUserForm
          onDone={(key) => {
            setCreating(false);
            if (key) setCreatedKey(key);
            else notify('User created');
          }}
        />
      </Modal>
      <Modal title="The user's key" open={createdKey !== null} onClose={() => setCreatedKey(null)}>
        {createdKey ? (
          <div className="secret-box">
            <p>
              The user was created with a key. Copy it now: <strong>it is shown only once</strong>.
            </p>
            <div className="secret-row">
              <code className="secret">{createdKey}</code>
              <CopyButton text={createdKey} />
            </div>
          </div>
        ) : null}
      </Modal>
      <Modal title={`User ${selected?.user_id ?? ''}`} open={selected !== null} onClose={() => setSelected(null)} wide>
        {selected ? <UserDetail user={selected} /> : null}
      </Modal>
    </Card>
  );
}

function Teams() {
  const queryClient = useQueryClient();
  const teams = useQuery({ queryKey: ['teams'], queryFn: listTeams });
  const [alias, setAlias] = useState('');
  const create = useMutation({
    mutationFn: () => createTeam({ team_alias: alias.trim() }),
    onSuccess: () => {
      setAlias('');
      notify('Team created');
      void queryClient.invalidateQueries({ queryKey: ['teams'] });
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  const remove = useMutation({
    mutationFn: (teamId: string) => deleteTeams([teamId]),
    onSuccess: () => {
      notify('Team deleted');
      void queryClient.invalidateQueries({ queryKey: ['teams'] });
    },
    onError: (error) => notify(errorText(error), 'error'),
  });
  return (
    <Card title="Teams">
      <form
        className="form inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (!alias.trim()) return notify('Enter a team name', 'error');
          create.mutate();
        }}
      >
        <Field label="New team name">{(id) => <input id={id} value={alias} onChange={(event) => setAlias(event.target.value)} />}</Field>
        <button className="button" type="submit" disabled={create.isPending}>
          Create team
        </button>
      </form>
      <QueryView query={teams} empty={(data) => (data.length === 0 ? <Empty title="No teams yet" /> : null)}>
        {(data) => (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Team</th>
                  <th scope="col">Members</th>
                  <th scope="col">Spend / budget</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.map((team) => (
                  <tr key={team.team_id}>
                    <td>
                      <div className="strong">{team.team_alias ?? team.team_id}</div>
                      <code className="muted small">{team.team_id}</code>
                    </td>
                    <td>{team.members_with_roles.length ? team.members_with_roles.map((member) => `${member.user_id} (${member.role})`).join(', ') : <span className="muted">none</span>}</td>
                    <td>
                      {usd(team.spend)}
                      {team.max_budget !== null ? ` of ${usd(team.max_budget)}` : ''}
                    </td>
                    <td className="row-actions">
                      <ConfirmButton label="Delete" onConfirm={() => remove.mutate(team.team_id)} disabled={remove.isPending} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </Card>
  );
}

export function UsersPage() {
  return (
    <>
      <PageHeader title="Users & teams" description="People and groups that own keys: roles, tiers, budgets and credits." />
      <div className="stack">
        <Users />
        <Teams />
      </div>
    </>
  );
}
