/** The shell: sign-in gate, sidebar navigation (a drawer on phones) and the current page. */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, useSyncExternalStore, type ComponentType } from 'react';
import { Toasts } from './components/ui';
import { BackendsPage } from './pages/backends';
import { AgentsPage } from './pages/agents';
import { ByokPage } from './pages/byok';
import { CreditsPage } from './pages/credits';
import { DashboardPage } from './pages/dashboard';
import { GuardrailsPage } from './pages/guardrails';
import { KeysPage } from './pages/keys';
import { LogsPage } from './pages/logs';
import { ModelsPage } from './pages/models';
import { PlaygroundPage } from './pages/playground';
import { ProvidersPage } from './pages/providers';
import { RouterSettingsPage } from './pages/router-settings';
import { RoutingRulesPage } from './pages/routing-rules';
import { TiersPage } from './pages/tiers';
import { SignInPage } from './pages/sign-in';
import { UsagePage } from './pages/usage';
import { UsersPage } from './pages/users';
import { navigate, usePath, BASE } from './router';
import { session, type Role, type Session } from './session';

interface PageDef {
  path: string;
  title: string;
  icon: string;
  roles: Role[];
  component: ComponentType<{ session: Session }>;
}

export const pages: PageDef[] = [
  { path: '/', title: 'Dashboard', icon: '◫', roles: ['admin', 'user'], component: DashboardPage },
  { path: '/models', title: 'Models', icon: '◇', roles: ['admin'], component: ModelsPage },
  { path: '/providers', title: 'Providers & health', icon: '♥', roles: ['admin'], component: ProvidersPage },
  { path: '/backends', title: 'Local backends', icon: '▦', roles: ['admin'], component: BackendsPage },
  { path: '/keys', title: 'Keys', icon: '⚷', roles: ['admin', 'user'], component: KeysPage },
  { path: '/users', title: 'Users & teams', icon: '☺', roles: ['admin'], component: UsersPage },
  { path: '/credits', title: 'Credits', icon: '¢', roles: ['user'], component: CreditsPage },
  { path: '/usage', title: 'Usage', icon: '▤', roles: ['admin', 'user'], component: UsagePage },
  { path: '/logs', title: 'Logs', icon: '≣', roles: ['admin', 'user'], component: LogsPage },
  { path: '/guardrails', title: 'Guardrails', icon: '⊘', roles: ['admin', 'user'], component: GuardrailsPage },
  { path: '/agents', title: 'Agents', icon: '✦', roles: ['admin', 'user'], component: AgentsPage },
  { path: '/router', title: 'Router settings', icon: '⇄', roles: ['admin'], component: RouterSettingsPage },
  { path: '/routing-rules', title: 'Routing rules', icon: '⇉', roles: ['admin'], component: RoutingRulesPage },
  { path: '/tiers', title: 'Tiers', icon: '◈', roles: ['admin'], component: TiersPage },
  { path: '/byok', title: 'BYOK', icon: '⊕', roles: ['admin', 'user'], component: ByokPage },
  { path: '/playground', title: 'Playground', icon: '▷', roles: ['admin', 'user'], component: PlaygroundPage },
];

function useSession(): Session | null {
  return useSyncExternalStore(session.subscribe, session.current);
}

function NotFound() {
  return (
    <div className="state state-empty">
      <strong>No such page</strong>
      <button type="button" className="button" onClick={() => navigate('/')}>
        Go to the dashboard
      </button>
    </div>
  );
}

export function App() {
  const current = useSession();
  const path = usePath();
  const queryClient = useQueryClient();
  const [menuOpen, setMenuOpen] = useState(false);

  // A session that ends drops every cached answer: the next key must not see the last one's data.
  useEffect(() => {
    if (!current) queryClient.clear();
  }, [current, queryClient]);

  // Expire an idle session even while nothing is clicked.
  useEffect(() => {
    const timer = setInterval(() => session.current(), 15_000);
    return () => clearInterval(timer);
  }, []);

  useEffect(() => setMenuOpen(false), [path]);

  const visible = current ? pages.filter((page) => page.roles.includes(current.role)) : [];
  const page = visible.find((item) => item.path === path);
  useEffect(() => {
    document.title = !current ? 'Sign in · Switchboard' : page ? `${page.title} · Switchboard` : 'Switchboard';
  });

  if (!current) return <SignInPage />;
  const Component = page?.component ?? NotFound;

  return (
    <div className={`shell ${menuOpen ? 'menu-open' : ''}`}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button type="button" className="icon-button menu-button" aria-label="Open navigation" aria-expanded={menuOpen} onClick={() => setMenuOpen(!menuOpen)}>
          ☰
        </button>
        <span className="brand">Switchboard</span>
      </header>
      <nav className="sidebar" aria-label="Main">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            S
          </span>
          Switchboard
        </div>
        <ul>
          {visible.map((item) => (
            <li key={item.path}>
              <a
                href={`${BASE}${item.path}`}
                aria-current={item.path === path ? 'page' : undefined}
                onClick={(event) => {
                  if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
                  event.preventDefault();
                  navigate(item.path);
                }}
              >
                <span className="nav-icon" aria-hidden="true">
                  {item.icon}
                </span>
                {item.title}
              </a>
            </li>
          ))}
        </ul>
        <div className="sidebar-footer">
          <div className="who">
            <span className={`badge ${current.role === 'admin' ? 'badge-blue' : 'badge-gray'}`}>{current.role === 'admin' ? 'Administrator' : 'User'}</span>
            <span className="muted" title={current.label}>
              {current.label}
            </span>
          </div>
          <button type="button" className="button button-ghost" onClick={() => session.signOut()}>
            Sign out
          </button>
        </div>
      </nav>
      <div className="backdrop" onClick={() => setMenuOpen(false)} aria-hidden="true" />
      <main id="main" className="content" tabIndex={-1}>
        <Component key={path} session={current} />
      </main>
      <Toasts />
    </div>
  );
}
