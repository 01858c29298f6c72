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

export const can = (me: Me, permission: string): boolean => me.permissions.includes(permission);
/** The supervisor's view lists agents by where one assigns, so it needs `conversations.assign`. */
export const isSupervisor = (me: Me): boolean => can(me, 'conversations.assign');
/** Only agents have an availability and a load. */
export const isAgent = (me: Me): boolean => can(me, 'conversations.answer');
