import { useQuery } from '@tanstack/react-query';
import { api } from './api';

/** The part of a selector being typed: after the last `,`, `(` or space; what comes before stays as it is. */
export function currentToken(selector: string): { before: string; token: string } {
  const cut = Math.max(selector.lastIndexOf(','), selector.lastIndexOf('('), selector.lastIndexOf(' '));
  return { before: selector.slice(0, cut + 1), token: selector.slice(cut + 1) };
}

/** What the token asks for: keys starting with it, or (after `key=`, `key==` or `key!=`) values of that key. */
export function completionRequest(
  token: string,
): { kind: 'key'; prefix: string; negated: boolean } | { kind: 'value'; key: string; op: string; prefix: string } {
  const m = /^([^=!]+)(==|!=|=)(.*)$/.exec(token);
  if (m) return { kind: 'value', key: m[1], op: m[2], prefix: m[3] };
  return token.startsWith('!') ? { kind: 'key', prefix: token.slice(1), negated: true } : { kind: 'key', prefix: token, negated: false };
}

const MAX_SUGGESTIONS = 20;

/**
 * Whole-selector suggestions for a <datalist>: the text typed so far with the token completed,
 * from the fleet's label and attribute keys (GET /fleet/keys) and one key's values
 * (GET /fleet/facets). The browser shows and picks them natively (keyboard included).
 */
export function useSelectorCompletions(selector: string): string[] {
  const { before, token } = currentToken(selector);
  const want = completionRequest(token);
  const keys = useQuery({ queryKey: ['agent-keys'], queryFn: () => api<{ keys: string[] }>('/fleet/keys'), staleTime: 30_000 });
  const facet = useQuery({
    queryKey: ['agent-facet', want.kind === 'value' ? want.key : ''],
    queryFn: () => api<{ values: { value: string; count: number }[] }>('/fleet/facets', { query: { key: want.kind === 'value' ? want.key : '' } }),
    enabled: want.kind === 'value' && (keys.data?.keys.includes(want.key) ?? false),
    staleTime: 10_000,
    retry: false,
  });
  if (want.kind === 'key') {
    return (keys.data?.keys ?? [])
      .filter((k) => k.startsWith(want.prefix) && k !== want.prefix)
      .slice(0, MAX_SUGGESTIONS)
      .map((k) => `${before}${want.negated ? '!' : ''}${k}`);
  }
  return (facet.data?.values ?? [])
    .filter((v) => v.value.startsWith(want.prefix))
    .slice(0, MAX_SUGGESTIONS)
    .map((v) => `${before}${want.key}${want.op}${v.value}`);
}
