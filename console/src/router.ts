/**
 * A router small enough to read: the path lives in `location`, links push history
 * entries, and components re-render on `popstate` or a navigation of ours.
 */
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  listeners.forEach((listener) => listener());
}

addEventListener('popstate', () => listeners.forEach((listener) => listener()));

export interface Place { path: string; query: URLSearchParams }

export function usePlace(): Place {
  const [, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((tick) => tick + 1);
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** Follows same-origin links without reloading the page (modified clicks keep their meaning). */
export function followLink(event: MouseEvent): void {
  const anchor = (event.target as Element | null)?.closest?.('a');
  if (!anchor || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || anchor.target) return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

/** The id of `/conversations/<id>`, or null for another path. */
export function conversationIdOf(path: string): string | null {
  const match = /^\/conversations\/([^/]+)$/.exec(path);
  return match ? decodeURIComponent(match[1]) : null;
}
