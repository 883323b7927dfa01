import { Injectable } from '@nestjs/common';
import { InvalidError } from '../common/domain-errors';
import { MAX_SELECTOR_KEY_LENGTH, SELECTOR_KEY_PATTERN } from '../common/selectors/label-selector';
import { SELECTOR_TERM_SEPARATOR } from '../common/selectors/selector-terms';
import { AgentsRepository } from './agents.repository';

/** How old the list of known terms may be before it is read again (once for all callers waiting). */
const TERMS_TTL_MS = 10_000;
/** How long one key's counts are kept. */
const FACET_TTL_MS = 10_000;
/** At most this many values of one key are counted; a key with more (host names, say) is not a facet to chart. */
export const MAX_FACET_VALUES = 50;

interface KnownTerms {
  at: number;
  keys: string[];
  values: Map<string, string[]>;
}

export interface Facet {
  key: string;
  /** Agents per value, most first; values no agent has any more are left out. */
  values: { value: string; count: number }[];
  /** The key has more than MAX_FACET_VALUES values: only some are counted. */
  truncated: boolean;
}

/**
 * Which label and attribute keys the fleet has, and how many agents have each value of one key
 * (the overview's "by version", "by OS"; the agents list's key completion). The known terms come
 * from one read of the agents' selector terms, at most every 10 s and only while someone asks;
 * each value's count is an indexed equality count on those terms (no scan per request).
 */
@Injectable()
export class AgentFacets {
  private known?: KnownTerms;
  private loading?: Promise<KnownTerms>;
  private readonly facets = new Map<string, { at: number; facet: Promise<Facet> }>();

  constructor(private readonly agents: AgentsRepository) {}

  async keys(): Promise<string[]> {
    return (await this.terms()).keys;
  }

  async facet(key: string): Promise<Facet> {
    if (!SELECTOR_KEY_PATTERN.test(key) || key.length > MAX_SELECTOR_KEY_LENGTH) {
      throw new InvalidError(`key must be a label or attribute key such as service.version (got ${JSON.stringify(key.slice(0, 80))})`, {
        errors: [{ field: 'key', message: 'not a selector key' }],
      });
    }
    const cached = this.facets.get(key);
    if (cached && Date.now() - cached.at < FACET_TTL_MS) return cached.facet;
    const facet = this.count(key);
    this.facets.set(key, { at: Date.now(), facet });
    facet.catch(() => this.facets.delete(key));
    if (this.facets.size > 200) this.facets.delete(this.facets.keys().next().value!);
    return facet;
  }

  private async count(key: string): Promise<Facet> {
    const all = (await this.terms()).values.get(key) ?? [];
    const values = all.slice(0, MAX_FACET_VALUES);
    const counts = await Promise.all(
      values.map(async (value) => ({ value, count: await this.agents.countSelected([{ key, operator: 'In', values: [value] }]) })),
    );
    return {
      key,
      values: counts.filter((c) => c.count > 0).sort((a, b) => b.count - a.count || a.value.localeCompare(b.value)),
      truncated: all.length > MAX_FACET_VALUES,
    };
  }

  /** The known terms, read again when older than TERMS_TTL_MS; concurrent callers share one read. */
  private terms(): Promise<KnownTerms> {
    if (this.known && Date.now() - this.known.at < TERMS_TTL_MS) return Promise.resolve(this.known);
    this.loading ??= this.read().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async read(): Promise<KnownTerms> {
    const keys = new Set<string>();
    const values = new Map<string, string[]>();
    for (const term of await this.agents.distinctSelectorTerms()) {
      const at = term.indexOf(SELECTOR_TERM_SEPARATOR);
      if (at < 0) {
        keys.add(term);
        continue;
      }
      const key = term.slice(0, at);
      const list = values.get(key) ?? [];
      list.push(term.slice(at + 1));
      values.set(key, list);
    }
    for (const list of values.values()) list.sort();
    this.known = { at: Date.now(), keys: [...keys].sort(), values };
    return this.known;
  }
}
