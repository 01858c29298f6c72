/**
 * The Administration area: a sub-navigation of the pages this person may open (from the
 * permissions `GET /v1/me` lists) and the page the path names. The server checks every
 * permission again; the console only hides what would be refused.
 */
import './admin.css';
import type { ComponentChildren } from 'preact';
import type { Me } from '../session';
import { AccountPage } from './Account';
import { ApiKeys } from './ApiKeys';
import { Audit } from './Audit';
import { Groups } from './Groups';
import { Inboxes } from './Inboxes';
import { holds, type MeWithGrants } from './kit';
import { Roles } from './Roles';
import { Statistics } from './Statistics';
import { Teams } from './Teams';
import { Users } from './Users';
import { Webhooks } from './Webhooks';

interface Area { slug: string; title: string; allowed: (me: Me) => boolean; render: (me: MeWithGrants) => ComponentChildren }

const any = (...permissions: string[]) => (me: Me) => permissions.some((p) => holds(me, p));

/** Every area, in navigation order; a page is listed when one of its permissions is held. */
export const AREAS: Area[] = [
  { slug: 'users', title: 'Users', allowed: any('users.manage'), render: (me) => <Users me={me} /> },
  { slug: 'roles', title: 'Roles', allowed: any('roles.manage', 'users.manage'), render: (me) => <Roles me={me} /> },
  { slug: 'groups', title: 'Groups', allowed: any('settings.manage', 'users.manage'), render: (me) => <Groups me={me} /> },
  { slug: 'teams', title: 'Teams', allowed: any('users.manage'), render: (me) => <Teams me={me} /> },
  { slug: 'inboxes', title: 'Inboxes', allowed: any('inboxes.manage'), render: (me) => <Inboxes me={me} /> },
  { slug: 'account', title: 'Account', allowed: any('settings.manage', 'billing.manage'), render: (me) => <AccountPage me={me} /> },
  { slug: 'api-keys', title: 'API keys', allowed: any('developers.manage'), render: (me) => <ApiKeys me={me} /> },
  { slug: 'webhooks', title: 'Webhooks', allowed: any('developers.manage'), render: (me) => <Webhooks me={me} /> },
  { slug: 'statistics', title: 'Statistics', allowed: any('statistics.view'), render: () => <Statistics /> },
  { slug: 'audit', title: 'Audit log', allowed: any('users.manage'), render: () => <Audit /> },
];

export function Admin({ me, path }: { me: Me; path: string }) {
  const open = AREAS.filter((area) => area.allowed(me));
  const slug = path.replace(/^\/admin\/?/, '').split('/')[0];
  const area = open.find((a) => a.slug === slug) ?? (slug ? undefined : open[0]);
  return (
    <div class="admin">
      <nav aria-label="Administration" class="admin-nav">
        <ul>
          {open.map((a) => (
            <li key={a.slug}><a href={`/admin/${a.slug}`} aria-current={a === area ? 'page' : undefined}>{a.title}</a></li>
          ))}
        </ul>
      </nav>
      <main class="admin-main">
        {area ? area.render(me as MeWithGrants)
          : <section><h1>Administration</h1><p role="alert">{open.length ? 'This page is not open to you.' : 'No administration page is open to you.'}</p></section>}
      </main>
    </div>
  );
}
