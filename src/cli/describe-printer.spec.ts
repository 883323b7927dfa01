import { describeText, packagesText, telemetryText, titleCase } from './describe-printer';

describe('describe output', () => {
  const now = Date.parse('2026-01-10T12:00:00Z');

  it('prints a resource as aligned, title-cased Key: value lines with ages', () => {
    const text = describeText(
      {
        kind: 'RemoteConfig',
        metadata: { name: 'base', createdAt: '2026-01-10T11:57:00Z', resourceVersion: '2' },
        spec: { contentType: 'application/yaml', body: 'receivers:\n  otlp: {}\n', description: '' },
        status: { latestRevision: 2, lastChange: { author: 'ada', message: null } },
      },
      {},
      now,
    );
    expect(text).toBe(
      [
        'Name:             base',
        'Kind:             RemoteConfig',
        'Created At:       2026-01-10T11:57:00Z (3m ago)',
        'Resource Version: 2',
        'Spec:',
        '  Content Type: application/yaml',
        '  Body:',
        '    receivers:',
        '      otlp: {}',
        '  Description:  ""',
        'Status:',
        '  Latest Revision: 2',
        '  Last Change:',
        '    Author:  ada',
        '    Message: <none>',
        '',
      ].join('\n'),
    );
  });

  it('keeps data keys (labels, attributes, file names) as they are and lists items', () => {
    const text = describeText(
      {
        kind: 'Agent',
        metadata: { name: 'u1', labels: { team: 'payments' } },
        status: {
          description: { identifyingAttributes: { 'service.name': 'checkout' } },
          capabilities: { names: ['ReportsStatus'] },
          effectiveConfig: { configMap: { '': { contentType: 'text/yaml' } } },
        },
      },
      { Agents: 'NAME   SERVICE\nu1     checkout', 'Empty Section': {} },
      now,
    );
    expect(text).toContain('Labels:\n  team: payments');
    expect(text).toContain('      service.name: checkout');
    expect(text).toContain('    Names:\n      - ReportsStatus');
    expect(text).toContain('      "":\n        Content Type: text/yaml');
    expect(text).toContain('Agents:\n  NAME   SERVICE\n  u1     checkout');
    expect(text).toContain('Empty Section: <none>');
  });

  it('title-cases camelCase keys only', () => {
    expect(titleCase('remoteConfigStatus')).toBe('Remote Config Status');
    expect(titleCase('lastSeenAt')).toBe('Last Seen At');
    expect(titleCase('service.name')).toBe('service.name');
  });
});

describe('describe agent: telemetry', () => {
  it('prints the current rates of an agent whose own metrics this replica holds', () => {
    const now = Date.parse('2026-12-02T12:00:10Z');
    const text = telemetryText(
      {
        held: true,
        lastReceivedAt: '2026-12-02T12:00:00Z',
        current: {
          acceptedPerSecond: 10,
          refusedPerSecond: 0,
          sentPerSecond: 8.5,
          sendFailedPerSecond: 1.5,
          exportFailureRatio: 0.15,
          queueSize: 7,
          queueCapacity: 1000,
          cpuSecondsPerSecond: 0.02,
          rssBytes: 123 * 1024 * 1024,
          uptimeSeconds: 3600.4,
        },
      },
      now,
    );
    expect(text.split('\n')).toEqual([
      'Last Received: 2026-12-02T12:00:00Z (10s ago)',
      'Accepted:      10 items/s',
      'Refused:       0 items/s',
      'Sent:          8.5 items/s',
      'Send Failed:   1.5 items/s (15.0% of sends)',
      'Queue:         7 / 1000',
      'CPU:           0.02 s/s',
      'RSS:           123.0 MiB',
      'Uptime:        3600 s',
    ]);
    expect(telemetryText({ held: false, conditions: [] })).toMatch(/no own metrics/);
  });
});

describe('the Packages section of describe agent', () => {
  it('shows each package’s version and status (progress, error) and where the offer stands', () => {
    const text = packagesText({
      installed: [
        { name: 'otelcol', version: '1.0.0', status: 'DOWNLOADING', offeredVersion: '1.1.0', downloadPercent: 42.4 },
        { name: 'addon', status: 'INSTALL_FAILED', offeredVersion: '0.2.0', errorMessage: 'content hash mismatch' },
      ],
      offer: {
        state: 'failed',
        origin: 'group/edge',
        desiredHash: 'ab'.repeat(32),
        error: 'addon: content hash mismatch',
        refused: [{ name: 'otelcol', version: '0.9.0', reason: '0.9.0 is older than the installed 1.0.0' }],
      },
    });
    expect(text.split('\n')).toEqual([
      'NAME     VERSION  STATUS           OFFERED  ERROR',
      'otelcol  1.0.0    DOWNLOADING 42%  1.1.0',
      'addon    <none>   INSTALL_FAILED   0.2.0    content hash mismatch',
      `Offer: failed (from group/edge), hash ${'ab'.repeat(6)}`,
      '  Error: addon: content hash mismatch',
      '  Not offered: otelcol 0.9.0: 0.9.0 is older than the installed 1.0.0',
    ]);
    expect(packagesText(undefined)).toMatch(/none reported/);
  });
});
