/**
 * Small pieces every administration page uses: a loader that re-reads on demand, a refusal
 * shown as the server worded it, and the permission check the pages and controls ask.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, reasonOf } from '../api';
import type { Me } from '../session';

export interface Grant { role: string; group_id: string }
export type MeWithGrants = Me & { grants?: Grant[] };

export const holds = (me: Me, permission: string): boolean => me.permissions.includes(permission);
export const isOwner = (me: MeWithGrants): boolean => (me.grants ?? []).some((g) => g.role === 'owner');

/** Reads `path` once and again after every `reload()`; a refusal lands in `error`. */
export function useResource<T>(path: string | null): { data: T | undefined; error: string; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    api<T>(path).then((value) => { setData(value); setError(''); }, (e) => setError(reasonOf(e)));
  }, [path, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

/** Runs a change and reports a refusal; the caller reloads what changed. */
export function useAction(): { error: string; run: (work: () => Promise<unknown>) => Promise<boolean> } {
  const [error, setError] = useState('');
  const run = async (work: () => Promise<unknown>) => {
    try {
      await work();
      setError('');
      return true;
    } catch (e) {
      setError(reasonOf(e));
      return false;
    }
  };
  return { error, run };
}

export function Alert({ message }: { message: string }) {
  return message ? <p role="alert" class="admin-alert">{message}</p> : null;
}

export function Page({ title, children }: { title: string; children: ComponentChildren }) {
  return <section class="admin-page" aria-labelledby="admin-heading"><h1 id="admin-heading">{title}</h1>{children}</section>;
}

/** A secret the server shows once: a warning and a copy button. */
export function ShownOnce({ label, secret }: { label: string; secret: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="admin-secret" role="status">
      <p><strong>{label}</strong>: copy it now; it will not be shown again.</p>
      <code data-testid="secret">{secret}</code>{' '}
      <button type="button" onClick={() => navigator.clipboard?.writeText(secret).then(() => setCopied(true))}>Copy</button>
      {copied && <span> Copied</span>}
    </div>
  );
}

export const call = <T,>(path: string, method: string, body?: unknown) => api<T>(path, { method, body });
