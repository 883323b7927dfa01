import { configDrift, configShape, DRIFT_GRACE_MS } from './config-drift';

const yaml = (text: string) => ({ contentType: 'text/yaml', body: Buffer.from(text) });
const SENT = `receivers:\n  otlp: {}\nexporters:\n  otlp/backend: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlp/backend]\n`;
const now = new Date('2026-12-03T07:00:00Z');
const base = (effective: string | undefined, more: Partial<Parameters<typeof configDrift>[0]> = {}) =>
  configDrift({
    desiredHash: 'aa',
    desiredShape: configShape([yaml(SENT)]),
    effectiveShape: effective === undefined ? undefined : configShape([yaml(effective)]),
    reported: { lastRemoteConfigHash: 'aa', status: 'APPLIED' },
    sent: { hash: 'aa', at: new Date(now.getTime() - 1000) },
    now,
    ...more,
  });

describe('ConfigDrift', () => {
  it('is False when the effective config has every pipeline, receiver and exporter sent, whatever the supervisor added', () => {
    const merged = `${SENT}extensions:\n  opamp: {}\n  health_check: {}\n`.replace('service:\n', 'service:\n  extensions: [opamp]\n');
    expect(base(merged)).toMatchObject({ status: 'False', reason: 'RunsDesiredConfig' });
  });

  it.each([
    ['an empty pipeline set (a fallback config)', 'receivers: {}\nexporters: {}\nservice:\n  pipelines: {}\n', 'EmptyPipelines'],
    ['a pipeline dropped by a merge', `${SENT.replace('traces:', 'metrics:')}`, 'PipelineMissing'],
    ['an exporter gone from the pipeline', SENT.replace('exporters: [otlp/backend]', 'exporters: [debug]'), 'ComponentMissing'],
  ])('is True for %s', (_what, effective, reason) => {
    expect(base(effective)).toMatchObject({ status: 'True', reason });
  });

  it('is True when the agent says APPLIED for a hash it was not sent, once it had time to apply', () => {
    const late = { reported: { lastRemoteConfigHash: 'bb', status: 'APPLIED' }, sent: { hash: 'aa', at: new Date(now.getTime() - DRIFT_GRACE_MS) } };
    expect(base(SENT, late)).toMatchObject({ status: 'True', reason: 'AppliedOtherConfig' });
    // Just sent: still applying, not drift.
    expect(base(SENT, { ...late, sent: { hash: 'aa', at: new Date(now.getTime() - 1000) } })).toMatchObject({ status: 'Unknown', reason: 'NotApplied' });
  });

  it('is Unknown without an effective config, absent without a desired config, and judges non-Collector configs by hash', () => {
    expect(base(undefined)).toMatchObject({ status: 'Unknown', reason: 'NoEffectiveConfig' });
    expect(base(SENT, { desiredHash: undefined })).toBeUndefined();
    const json = configDrift({
      desiredHash: 'aa',
      desiredShape: configShape([{ contentType: 'application/json', body: Buffer.from('{"sampler":"always"}') }]),
      reported: { lastRemoteConfigHash: 'aa', status: 'APPLIED' },
      now,
    });
    expect(json).toMatchObject({ status: 'False', reason: 'AppliedDesiredConfig' });
  });

  it('reads no file it cannot parse and never throws on hostile YAML', () => {
    expect(configShape([yaml(': : :\n\t- [')])).toBeUndefined();
    expect(configShape([yaml('a: &a [*a, *a]\n'.repeat(1))])).toBeDefined();
    expect(configShape([yaml('service: 3\n')])?.size).toBe(0);
  });
});
