import { useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';

/**
 * The page's query string, with changes that apply at once. The router's setSearchParams does not
 * queue: a second change made before the first navigation has landed starts from the URL as it was,
 * and the first change is lost (show one column, hide another, quickly). So the changes asked for
 * are kept here until the URL holds them: the page renders from the newest one at once, and each
 * change starts from it. A navigation from elsewhere (back, a link) drops what was pending.
 */
export function useUrlParams(): [URLSearchParams, (change: (current: URLSearchParams) => URLSearchParams) => void] {
  const [params, setParams] = useSearchParams();
  const [pending, setPending] = useState<URLSearchParams | null>(null);
  /** Query strings asked for and not yet seen in the URL, oldest first. */
  const inflight = useRef<string[]>([]);
  const landed = params.toString();

  useEffect(() => {
    const at = inflight.current.indexOf(landed);
    inflight.current = at < 0 ? [] : inflight.current.slice(at + 1);
    if (inflight.current.length === 0) setPending(null);
  }, [landed]);

  const change = (f: (current: URLSearchParams) => URLSearchParams) => {
    const base = inflight.current.length ? new URLSearchParams(inflight.current[inflight.current.length - 1]) : params;
    const next = f(new URLSearchParams(base));
    inflight.current.push(next.toString());
    setPending(next);
    setParams(next);
  };
  return [pending ?? params, change];
}
