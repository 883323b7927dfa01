/** A unified diff as the API sends it, one row per line, additions and removals marked in words too. */
export function DiffView({ diff }: { diff: string }) {
  const lines = diff.replace(/\n$/, '').split('\n');
  if (!diff.trim()) return <p>No differences.</p>;
  return (
    <pre className="diff" tabIndex={0} aria-label="Differences">
      {lines.map((l, i) => {
        const kind =
          l.startsWith('+++') || l.startsWith('---') ? 'file' : l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : 'same';
        return (
          <span key={i} className={`diff-${kind}`}>
            {kind === 'add' && <span className="sr-only">added: </span>}
            {kind === 'del' && <span className="sr-only">removed: </span>}
            {l || ' '}
          </span>
        );
      })}
    </pre>
  );
}
