import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, refreshSession, setSignedOutHandler, signIn as apiSignIn, signOut as apiSignOut } from './api';
import type { User } from './types';

/** Who is signed in, and what they may do. */
export interface Session {
  state: 'loading' | 'signed-out' | 'signed-in';
  user?: User;
  /** Operators and admins may change things; viewers only look. */
  canWrite: boolean;
  signIn(username: string, password: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<Session['state']>('loading');
  const [user, setUser] = useState<User>();

  const loadUser = useCallback(async () => {
    setUser(await api<User>('/auth/me'));
    setState('signed-in');
  }, []);

  useEffect(() => {
    setSignedOutHandler(() => {
      setUser(undefined);
      setState('signed-out');
    });
    // A reload keeps the session: the cookie gets a fresh access token.
    void refreshSession().then((ok) => (ok ? loadUser().catch(() => setState('signed-out')) : setState('signed-out')));
  }, [loadUser]);

  const value = useMemo<Session>(
    () => ({
      state,
      user,
      canWrite: user?.spec.role === 'operator' || user?.spec.role === 'admin',
      async signIn(username, password) {
        await apiSignIn(username, password);
        await loadUser();
      },
      async signOut() {
        await apiSignOut();
        setUser(undefined);
        setState('signed-out');
      },
    }),
    [state, user, loadUser],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
