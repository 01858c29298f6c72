/**
 * The console's entry: reads who is signed in, routes between the pages, and keeps one
 * WebSocket client for the signed-in pages (closed on sign-out).
 */
import './styles.css';
import type { SwitchboardClient } from '@switchboard/client';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, whenUnauthorized } from './api';
import { createClient } from './live';
import { Accept } from './pages/Accept';
import { Setup } from './pages/Setup';
import { SignIn } from './pages/SignIn';
import { conversationIdOf, followLink, navigate, usePlace } from './router';
import type { Me } from './session';
import { Shell } from './Shell';
import { Messenger } from './pages/Messenger';
import { Supervisor } from './pages/Supervisor';
import { Admin } from './admin/Admin'; // admin

const PUBLIC = ['/sign-in', '/setup', '/accept'];

function App() {
  const place = usePlace();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const isPublic = PUBLIC.includes(place.path);

  useEffect(() => {
    whenUnauthorized(() => {
      setMe(null);
      if (!PUBLIC.includes(location.pathname)) navigate('/sign-in', true);
    });
  }, []);

  const loadMe = () => api<Me>('/v1/me', { quiet401: isPublic }).then(setMe, () => setMe(null));
  useEffect(() => {
    if (!isPublic) void loadMe();
  }, [isPublic]);

  const signedIn = () => navigate('/', true);

  if (place.path === '/sign-in') return <SignIn onSignedIn={signedIn} />;
  if (place.path === '/setup') return <Setup token={place.query.get('token') ?? ''} onSignedIn={signedIn} />;
  if (place.path === '/accept') return <Accept token={place.query.get('token') ?? ''} onSignedIn={signedIn} />;
  if (!me) return <main class="card-page"><p>{me === null ? 'Signing in…' : 'Loading…'}</p></main>;
  return <SignedIn me={me} path={place.path} onSignedOut={() => { setMe(null); navigate('/sign-in', true); }} />;
}

function SignedIn({ me, path, onSignedOut }: { me: Me; path: string; onSignedOut: () => void }) {
  const client: SwitchboardClient = useMemo(createClient, [me.user.id]);
  useEffect(() => {
    client.connect();
    const off = client.on('unauthorized', () => navigate('/sign-in', true));
    return () => { off(); client.close(); };
  }, [client]);

  return (
    <Shell me={me} client={client} path={path} onSignedOut={onSignedOut}>
      {path === '/admin' || path.startsWith('/admin/') ? <Admin me={me} path={path} /> : // admin
        path === '/supervisor' ? <Supervisor client={client} /> :
        path === '/' || conversationIdOf(path)
        ? <Messenger client={client} me={me} openId={conversationIdOf(path)} />
        : <main class="placeholder"><h1>Not here yet</h1><p>This page is not part of the console yet.</p><a href="/">Messenger</a></main>}
    </Shell>
  );
}

document.addEventListener('click', followLink);
render(<App />, document.getElementById('app')!);
