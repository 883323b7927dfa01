import { useEffect, useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useSession } from '../session';
import { signInProviders } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';

/** Why a GitHub sign-in was refused: the server's callback sends the browser back with it in the URL. */
function takeGithubError(): string | undefined {
  const params = new URLSearchParams(window.location.search);
  const message = params.get('signInError') ?? undefined;
  if (message !== undefined) {
    params.delete('signInError');
    const rest = params.toString();
    window.history.replaceState(null, '', `${window.location.pathname}${rest ? `?${rest}` : ''}${window.location.hash}`);
  }
  return message;
}

export function SignInPage() {
  const session = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [githubError, setGithubError] = useState<string>();
  useEffect(() => setGithubError(takeGithubError()), []);
  const providers = useQuery({ queryKey: ['sign-in-providers'], queryFn: signInProviders, staleTime: Infinity });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await session.signIn(username, password);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <main className="sign-in" id="main">
      <h1>OpAMP Commander</h1>
      <form onSubmit={(e) => void submit(e)} aria-label="Sign in">
        <h2>Sign in</h2>
        <label>
          User name
          <input name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <ProblemMessage error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      {githubError && (
        <p role="alert" className="error-text" data-testid="github-error">
          GitHub sign-in failed: {githubError}
        </p>
      )}
      {providers.data?.github && (
        <p className="sign-in-alt">
          {/* A navigation, not a fetch: the browser goes to GitHub and comes back with the session cookie set. */}
          <a className="button" href="/api/v1/auth/github?for=web">
            Sign in with GitHub
          </a>
        </p>
      )}
    </main>
  );
}
