import { Navigate, NavLink, Route, Routes, useLocation } from 'react-router';
import { useLiveUpdates } from './live';
import { useSession } from './session';
import { SignInPage } from './pages/SignInPage';
import { OverviewPage } from './pages/OverviewPage';
import { AgentsPage } from './pages/AgentsPage';
import { AgentPage } from './pages/AgentPage';
import { GroupsPage } from './pages/GroupsPage';
import { GroupFormPage } from './pages/GroupFormPage';
import { ConfigsPage } from './pages/ConfigsPage';
import { ConfigFormPage } from './pages/ConfigFormPage';
import { TokensPage } from './pages/TokensPage';
import { UsersPage } from './pages/UsersPage';
import { AuditPage } from './pages/AuditPage';
import { RolloutsPage } from './pages/RolloutsPage';
import { RolloutPage } from './pages/RolloutPage';
import { RolloutFormPage } from './pages/RolloutFormPage';
import { PackagesPage } from './pages/PackagesPage';
import { PackagePage } from './pages/PackagePage';

/** The navigation; later pages add their entry here. */
const NAV: { to: string; label: string; end?: boolean; admin?: boolean }[] = [
  { to: '/', label: 'Overview', end: true },
  { to: '/agents', label: 'Agents' },
  { to: '/groups', label: 'Agent groups' },
  { to: '/configs', label: 'Remote configs' },
  { to: '/rollouts', label: 'Rollouts' },
  { to: '/packages', label: 'Packages' },
  { to: '/tokens', label: 'Enrollment tokens', admin: true },
  { to: '/users', label: 'Users', admin: true },
  { to: '/audit', label: 'Audit log', admin: true },
];

export function App() {
  const session = useSession();
  const location = useLocation();
  if (session.state === 'loading')
    return (
      <p className="loading" role="status">
        Loading…
      </p>
    );
  if (session.state === 'signed-out') {
    return (
      <Routes>
        <Route path="/sign-in" element={<SignInPage />} />
        <Route path="*" element={<Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />} />
      </Routes>
    );
  }
  return <Shell />;
}

/** The signed-in application: navigation, pages, and the change stream that keeps them live. */
function Shell() {
  const session = useSession();
  const location = useLocation();
  const isAdmin = session.user?.spec.role === 'admin';
  useLiveUpdates();
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">OpAMP Commander</span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => !n.admin || isAdmin).map((n) => (
              <li key={n.to}>
                <NavLink to={n.to} end={n.end}>
                  {n.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span data-testid="who">
            {session.user?.metadata.name} ({session.user?.spec.role})
          </span>
          <button type="button" onClick={() => void session.signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<OverviewPage />} />
          <Route path="/agents" element={<AgentsPage />} />
          <Route path="/agents/:uid" element={<AgentPage />} />
          <Route path="/groups" element={<GroupsPage />} />
          <Route path="/groups/new" element={<GroupFormPage />} />
          <Route path="/groups/:name" element={<GroupFormPage />} />
          <Route path="/configs" element={<ConfigsPage />} />
          <Route path="/configs/new" element={<ConfigFormPage />} />
          <Route path="/configs/:name" element={<ConfigFormPage />} />
          <Route path="/rollouts" element={<RolloutsPage />} />
          <Route path="/rollouts/new" element={<RolloutFormPage />} />
          <Route path="/rollouts/:name" element={<RolloutPage />} />
          <Route path="/packages" element={<PackagesPage />} />
          <Route path="/packages/:name" element={<PackagePage />} />
          {isAdmin && <Route path="/tokens" element={<TokensPage />} />}
          {isAdmin && <Route path="/users" element={<UsersPage />} />}
          {isAdmin && <Route path="/audit" element={<AuditPage />} />}
          <Route path="/sign-in" element={<Navigate to={(location.state as { from?: string } | null)?.from ?? '/'} replace />} />
          <Route path="*" element={<h1>Page not found</h1>} />
        </Routes>
      </main>
    </div>
  );
}
