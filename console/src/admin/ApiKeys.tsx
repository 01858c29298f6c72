/** API keys: create one with grants (its secret shown once), list, revoke. */
import { useState } from 'preact/hooks';
import { type Group } from './Groups';
import { Alert, call, type Grant, holds, type MeWithGrants, Page, ShownOnce, useAction, useResource } from './kit';
import { defaultGrants, GrantsEditor } from './Users';

interface ApiKey { id: string; name: string; prefix: string; grants: Grant[]; created_at: string; last_used_at: string | null }
interface Role { id: string; name: string }

export function ApiKeys({ me }: { me: MeWithGrants }) {
  const keys = useResource<ApiKey[]>('/v1/api-keys');
  const roles = useResource<Role[]>('/v1/roles');
  const groups = useResource<Group[]>('/v1/groups');
  const manage = holds(me, 'developers.manage');
  const action = useAction();
  const [name, setName] = useState('');
  const [grants, setGrants] = useState<Grant[] | null>(null);
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null);
  const chosen = grants ?? defaultGrants(roles.data ?? [], groups.data ?? []);
  const create = async (e: Event) => {
    e.preventDefault();
    await action.run(async () => {
      const created = await call<{ key: string; name?: string }>('/v1/api-keys', 'POST', { name, grants: chosen });
      setSecret({ name, key: created.key });
      setName('');
      keys.reload();
    });
  };
  return (
    <Page title="API keys">
      <Alert message={keys.error || action.error} />
      {secret && <ShownOnce label={`The API key ${secret.name}`} secret={secret.key} />}
      <table class="admin-table">
        <caption>API keys</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Grants</th><th scope="col">Last used</th>{manage && <th scope="col">Revoke</th>}</tr></thead>
        <tbody>
          {(keys.data ?? []).map((k) => (
            <tr key={k.id}>
              <th scope="row">{k.name}</th><td><code>{k.prefix}</code></td>
              <td>{k.grants.map((g) => `${g.role} in ${groups.data?.find((x) => x.id === g.group_id)?.name ?? ''}`).join(', ')}</td>
              <td>{k.last_used_at ? new Date(k.last_used_at).toLocaleString() : 'Never'}</td>
              {manage && <td><button type="button" onClick={() => confirm(`Revoke ${k.name}?`) && action.run(() => call(`/v1/api-keys/${k.id}`, 'DELETE')).then((ok) => ok && keys.reload())}>Revoke {k.name}</button></td>}
            </tr>
          ))}
        </tbody>
      </table>
      {manage && (
        <form class="admin-form" onSubmit={create}>
          <h2>New API key</h2>
          <label>Key name <input value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>
          <GrantsEditor label="Grants of the key" roles={roles.data ?? []} groups={groups.data ?? []} grants={chosen} onChange={setGrants} />
          <button type="submit">Create API key</button>
        </form>
      )}
    </Page>
  );
}
