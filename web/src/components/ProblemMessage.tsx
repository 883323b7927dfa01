import { ApiError } from '../api';

/** An error as the API explained it (its problem detail and field errors), or as thrown. */
export function ProblemMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const p = error instanceof ApiError ? error.problem : undefined;
  return (
    <div className="problem" role="alert">
      <strong>{p?.title ?? 'Error'}</strong>
      {p ? ` (${p.status})` : ''}: {p?.detail ?? (error as Error).message}
      {p?.errors?.length ? (
        <ul>
          {p.errors.map((e) => (
            <li key={e.field + e.message}>
              <code>{e.field}</code>: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
