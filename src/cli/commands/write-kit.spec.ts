import type { Manifest } from '../manifests';
import { applyOrder, parseLabelArgs, tokenSecret } from './write-kit';

describe('write command helpers (write-kit)', () => {
  it('applies what others refer to first, keeping file order otherwise', () => {
    const m = (kind: string, name: string): Manifest => ({ resource: { kind, metadata: { name } }, source: name });
    const order = applyOrder([m('AgentGroup', 'g1'), m('RemoteConfig', 'r1'), m('AgentGroup', 'g2'), m('Other', 'o'), m('RemoteConfig', 'r2')]);
    expect(order.map((x) => x.source)).toEqual(['r1', 'r2', 'g1', 'g2', 'o']);
  });

  it('parses label arguments', () => {
    expect(parseLabelArgs(['team=payments', 'tier=', 'old-'], true)).toEqual({ team: 'payments', tier: '', old: null });
    expect(() => parseLabelArgs(['old-'], false)).toThrow('"old-" is not a label (key=value)');
    expect(() => parseLabelArgs(['=x'], true)).toThrow(/is not a label/);
  });

  it('finds the one-time secret of a new enrollment token', () => {
    expect(tokenSecret({ kind: 'EnrollmentToken', metadata: { name: 'et-1' }, token: 'oct_abc' })).toBe('oct_abc');
    expect(tokenSecret({ status: { secret: 's' } })).toBe('s');
    expect(tokenSecret({ metadata: {} })).toBeUndefined();
  });
});
