import { selectorToStored } from '../agent-groups/agent-group.mapper';
import { InvalidError } from '../common/domain-errors';
import { LabelSelectorObject, SelectorError, selectorRequirements } from '../common/selectors';
import { MAX_BAKE_SECONDS, MAX_STAGES } from './rollout-manifest.dto';
import type { StoredRolloutSpec, StoredStage } from './rollout.schema';
import { parseStage } from './stage-planner';

/**
 * `spec.stages` as the API takes it, checked field by field into what is stored: a list of
 * counts and percentages (`["1", "25%", "100%"]`), items in object form
 * (`{stage, selector, bakeSeconds, approval}`), or `{initial, multiplier, bakeSeconds}`.
 * Every problem is reported at once, each naming its field.
 */
export function parseRolloutStages(raw: unknown): Pick<StoredRolloutSpec, 'stages' | 'geometric'> {
  const errors: { field: string; message: string }[] = [];
  const fail = () => {
    throw new InvalidError(`Invalid rollout: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors });
  };
  const bake = (v: unknown, field: string): number | undefined => {
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > MAX_BAKE_SECONDS)
      errors.push({ field, message: `must be an integer from 0 to ${MAX_BAKE_SECONDS}` });
    return v as number;
  };

  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const g = raw as Record<string, unknown>;
    for (const k of Object.keys(g))
      if (!['initial', 'multiplier', 'bakeSeconds'].includes(k))
        errors.push({ field: `spec.stages.${k}`, message: 'is not a known field (initial, multiplier, bakeSeconds)' });
    if (!Number.isInteger(g.initial) || (g.initial as number) < 1) errors.push({ field: 'spec.stages.initial', message: 'must be a positive integer' });
    if (typeof g.multiplier !== 'number' || !(g.multiplier > 1) || g.multiplier > 1000)
      errors.push({ field: 'spec.stages.multiplier', message: 'must be a number greater than 1 (at most 1000)' });
    const bakeSeconds = bake(g.bakeSeconds, 'spec.stages.bakeSeconds');
    if (errors.length) fail();
    return { geometric: { initial: g.initial as number, multiplier: g.multiplier as number, ...(bakeSeconds !== undefined ? { bakeSeconds } : {}) } };
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    errors.push({ field: 'spec.stages', message: 'is required: a list of stages ("1", "25%", …) or {initial, multiplier}' });
    fail();
  }
  const list = raw as unknown[];
  if (list.length > MAX_STAGES) {
    errors.push({ field: 'spec.stages', message: `must have at most ${MAX_STAGES} stages` });
    fail();
  }
  const stages: StoredStage[] = list.map((item, i) => {
    const field = `spec.stages[${i}]`;
    const out: StoredStage = {};
    const amount = (v: unknown, f: string) => {
      try {
        const s = parseStage(v as string | number);
        if (s.percent !== undefined && !(s.percent > 0 && s.percent <= 100)) throw new RangeError('a percentage is above 0% and at most 100%');
        if (s.count !== undefined && !(Number.isInteger(s.count) && s.count >= 1)) throw new RangeError('a count is a positive integer');
        Object.assign(out, s);
      } catch (e) {
        errors.push({ field: f, message: (e as Error).message });
      }
    };
    if (typeof item === 'string' || typeof item === 'number') {
      amount(item, field);
      return out;
    }
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      errors.push({ field, message: 'must be a count, a percentage or {stage, selector, bakeSeconds, approval}' });
      return out;
    }
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!['stage', 'selector', 'bakeSeconds', 'approval'].includes(k))
        errors.push({ field: `${field}.${k}`, message: 'is not a known field (stage, selector, bakeSeconds, approval)' });
    if (o.stage !== undefined) amount(o.stage, `${field}.stage`);
    if (o.selector !== undefined) {
      try {
        const requirements = selectorRequirements(o.selector, `${field}.selector`);
        out.selector = selectorToStored(o.selector as string | LabelSelectorObject);
        out.requirements = requirements;
      } catch (e) {
        if (!(e instanceof SelectorError)) throw e;
        errors.push({ field: e.field ?? `${field}.selector`, message: e.message });
      }
    }
    if (o.stage === undefined && o.selector === undefined) errors.push({ field: `${field}.stage`, message: 'is required unless a selector is given' });
    const b = bake(o.bakeSeconds, `${field}.bakeSeconds`);
    if (b !== undefined) out.bakeSeconds = b;
    if (o.approval !== undefined) {
      if (typeof o.approval !== 'boolean') errors.push({ field: `${field}.approval`, message: 'must be a boolean' });
      else if (o.approval) out.approval = true;
    }
    return out;
  });
  if (errors.length) fail();
  return { stages };
}

/** Stages as the API shows them back: strings for plain stages, objects for the rest. */
export function stagesToApi(
  spec: Pick<StoredRolloutSpec, 'stages' | 'geometric'>,
  selectorFromStored: (s: NonNullable<StoredStage['selector']>) => unknown,
): unknown {
  if (spec.geometric) return { ...spec.geometric };
  return (spec.stages ?? []).map((s) => {
    const amount = s.percent !== undefined ? `${s.percent}%` : s.count !== undefined ? String(s.count) : undefined;
    if (!s.selector && s.bakeSeconds === undefined && !s.approval) return amount;
    return {
      ...(amount !== undefined ? { stage: amount } : {}),
      ...(s.selector ? { selector: selectorFromStored(s.selector) } : {}),
      ...(s.bakeSeconds !== undefined ? { bakeSeconds: s.bakeSeconds } : {}),
      ...(s.approval ? { approval: true } : {}),
    };
  });
}
