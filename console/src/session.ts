/** Who is signed in, as `GET /v1/me` answers, and what the navigation may show them. */
export interface Me {
  user: { id: string; name: string; email: string; capacity: number };
  account: { id: string; name: string };
  permissions: string[];
}

export interface LoginResponse {
  token: string;
  user: { id: string; name: string; email: string; account_id: string; role?: string };
  must_enroll_2fa: boolean;
}

const SUPERVISOR = ['statistics.view', 'conversations.take_over', 'conversations.assign'];
const ADMIN = ['users.manage', 'roles.manage', 'settings.manage', 'inboxes.manage', 'developers.manage', 'billing.manage'];

export const can = (me: Me, permission: string): boolean => me.permissions.includes(permission);
export const isSupervisor = (me: Me): boolean => SUPERVISOR.some((p) => can(me, p));
export const isAdmin = (me: Me): boolean => ADMIN.some((p) => can(me, p));
