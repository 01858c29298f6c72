/**
 * Seeding a tenant the way an operator and a channel would: admin commands for
 * the account, users, groups and inboxes; REST for sign-in, customers' messages
 * (`POST /v1/inbound` with the inbox key) and an administrator's changes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, type SwitchboardServer } from './server.js';

export interface Person {
  id: string;
  name: string;
  email: string;
  password: string;
}

export interface Inbox {
  id: string;
  key: string;
  groupId: string;
}

export interface Tenant {
  accountId: string;
  accountName: string;
  owner: Person;
}

const password = 'a long enough password';

export async function createTenant(server: SwitchboardServer, accountName = 'Acme'): Promise<Tenant> {
  const owner = { name: 'Olive Owner', email: 'owner@acme.test', password };
  const made = await server.cli('account', 'create', '--name', accountName, '--owner-email', owner.email,
    '--owner-name', owner.name, '--owner-password', owner.password);
  return { accountId: made.account_id, accountName, owner: { ...owner, id: made.owner_id } };
}

/** A user with one role at a group (the root when none is given). */
export async function createUser(server: SwitchboardServer, tenant: Tenant, name: string, role = 'operator', groupId?: string): Promise<Person> {
  const email = `${name.split(' ')[0].toLowerCase()}@acme.test`;
  const args = ['user', 'create', '--account', tenant.accountId, '--email', email, '--name', name, '--password', password, '--role', role];
  if (groupId) args.push('--group', groupId);
  const made = await server.cli(...args);
  return { id: made.user_id, name, email, password };
}

export async function createGroup(server: SwitchboardServer, tenant: Tenant, name: string): Promise<string> {
  return (await server.cli('group', 'create', '--account', tenant.accountId, '--name', name)).group_id;
}

export async function rootGroup(server: SwitchboardServer, tenant: Tenant): Promise<string> {
  const { groups } = await server.cli('group', 'list', '--account', tenant.accountId);
  return groups.find((g: any) => g.parent_id === null).group_id;
}

export async function createInbox(server: SwitchboardServer, tenant: Tenant, name: string, groupId?: string): Promise<Inbox> {
  const args = ['inbox', 'create', '--account', tenant.accountId, '--name', name, '--channel', 'sms'];
  if (groupId) args.push('--group', groupId);
  const made = await server.cli(...args);
  return { id: made.inbox_id, key: made.api_key, groupId: made.group_id };
}

/** A customer writes in; answers the conversation's id. */
export async function inbound(server: SwitchboardServer, inbox: Inbox, contactName: string, body: string): Promise<string> {
  const handle = `+1555${[...contactName].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1_000_000, 7)}`;
  const answer = await rest(server, inbox.key, 'POST', '/v1/inbound', {
    inbox_id: inbox.id,
    contact: { handle, name: contactName },
    body,
  });
  return answer.conversation_id;
}

export async function login(server: SwitchboardServer, person: Pick<Person, 'email' | 'password'>): Promise<string> {
  return (await rest(server, null, 'POST', '/v1/auth/login', { email: person.email, password: person.password })).token;
}

/** One REST call with a Bearer token; throws with the error body on a refusal. */
export async function rest(server: SwitchboardServer, token: string | null, method: string, path: string, body?: unknown): Promise<any> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const answer = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await answer.text();
  if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Decodes a quoted-printable part (soft line breaks and =XX escapes). */
function unquote(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

/** The invitation link in the first `.eml` written for `email` in the server's mail directory. */
export async function invitationLinkFromMail(server: SwitchboardServer, email: string): Promise<string> {
  return eventually(`an invitation mail to ${email} in ${server.mailDir}`, () => {
    const files = (() => { try { return readdirSync(server.mailDir); } catch { return []; } })();
    for (const file of files.filter((f) => f.endsWith('.eml'))) {
      const mail = readFileSync(join(server.mailDir, file), 'utf8');
      if (!mail.includes(email)) continue;
      const link = unquote(mail).match(/https?:\/\/[^\s"<>]+\/accept\?token=[A-Za-z0-9_\-]+/)?.[0];
      if (link) return link;
    }
    return undefined;
  });
}
