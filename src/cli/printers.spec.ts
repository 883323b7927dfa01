import { parse } from 'yaml';
import { UsageError } from './cli-errors';
import { formatResources, parseOutputFormat, toYaml } from './printers';
import type { Resource } from './resource-fields';
import { resolveResourceType } from './resource-types';

const now = Date.parse('2026-01-10T12:00:00Z');
const agents = resolveResourceType('ag');
const groups = resolveResourceType('grp');

const agent = (uid: string, service: string): Resource => ({
  kind: 'Agent',
  apiVersion: 'v1',
  metadata: { name: uid, labels: {}, createdAt: '2026-01-10T11:57:00Z' },
  spec: {},
  status: {
    connected: true,
    connection: { transport: 'websocket', lastSeenAt: '2026-01-10T11:59:55Z', remoteAddress: '10.0.0.1' },
    description: { identifyingAttributes: { 'service.name': service, 'service.version': '1.2.3' }, nonIdentifyingAttributes: { 'host.name': 'web-1' } },
    health: { healthy: true },
    remoteConfigStatus: { status: 'APPLIED', lastRemoteConfigHash: 'abcdef0123456789' },
    remoteConfig: { state: 'applied' },
  },
});

describe('output formats', () => {
  it('prints agents as a table with ages and their delivery state', () => {
    const out = formatResources(agents, [agent('0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90', 'checkout')], { format: 'table', now });
    expect(out.split('\n')[0].split(/\s{3,}/)).toEqual(['NAME', 'SERVICE', 'VERSION', 'TRANSPORT', 'CONNECTED', 'HEALTHY', 'CONFIG', 'LAST SEEN', 'AGE']);
    expect(out.split('\n')[1].split(/\s{3,}/)).toEqual([
      '0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90',
      'checkout',
      '1.2.3',
      'websocket',
      'true',
      'true',
      'applied',
      '5s',
      '3m',
    ]);
  });

  it('adds columns with -o wide', () => {
    const out = formatResources(agents, [agent('u1', 'checkout')], { format: 'wide', now });
    expect(out).toMatch(/HOST/);
    expect(out).toMatch(/web-1/);
    expect(out).toMatch(/REPORTED/);
    expect(out).toMatch(/APPLIED/);
  });

  it('prints names, JSON and YAML; lists as <Kind>List, a single resource as itself', () => {
    const items = [agent('u1', 'a'), agent('u2', 'b')];
    expect(formatResources(agents, items, { format: 'name' })).toBe('agent/u1\nagent/u2\n');
    expect(JSON.parse(formatResources(agents, items, { format: 'json' }))).toMatchObject({
      kind: 'AgentList',
      apiVersion: 'v1',
      items: [{ metadata: { name: 'u1' } }, { metadata: { name: 'u2' } }],
    });
    expect(parse(formatResources(agents, items.slice(0, 1), { format: 'yaml' }, true))).toMatchObject({ kind: 'Agent', metadata: { name: 'u1' } });
    expect(formatResources(agents, [], { format: 'table' })).toBe('NAME   SERVICE   VERSION   TRANSPORT   CONNECTED   HEALTHY   CONFIG   LAST SEEN   AGE\n');
  });

  it('shows group counts and selectors', () => {
    const g: Resource = {
      kind: 'AgentGroup',
      metadata: { name: 'checkout', createdAt: '2026-01-10T10:00:00Z' },
      spec: {
        selector: {
          matchLabels: { env: 'prod' },
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['a', 'b'] },
            { key: 'debug', operator: 'DoesNotExist' },
          ],
        },
        priority: 10,
        configs: [],
      },
      status: {
        agents: 3,
        connected: 2,
        healthy: 2,
        config: { applied: 1, applying: 0, failed: 1, pending: 1 },
        matchedNotGoverned: 2,
        overriddenBy: [
          { kind: 'group', group: 'edge', agents: 1 },
          { kind: 'agent', agents: 1 },
        ],
      },
    };
    const row = formatResources(groups, [g], { format: 'table', now }).split('\n')[1];
    expect(row.split(/\s{3,}/)).toEqual(['checkout', 'env=prod,tier in (a,b),!debug', '10', '3', '2', '2', '2', '1', '1', '120m']);
    const wide = formatResources(groups, [g], { format: 'wide', now }).split('\n');
    expect(wide[0]).toMatch(/AGENTS\s+OVERRIDDEN\s+OVERRIDDEN BY\s+CONNECTED/);
    expect(wide[1]).toMatch(/\s3\s+2\s+edge=1,own-config=1\s+2\s/);
  });

  it('marks soft-deleted resources with a DELETED column, only when some are listed', () => {
    const g = (name: string, deletedAt?: string): Resource => ({
      kind: 'AgentGroup',
      metadata: { name, createdAt: '2026-01-10T10:00:00Z', ...(deletedAt ? { deletedAt } : {}) },
      spec: { selector: '', priority: 0 },
      status: {},
    });
    const table = formatResources(groups, [g('live'), g('gone', '2026-01-10T11:55:00Z')], { format: 'table', now }).split('\n');
    expect(table[0]).toMatch(/^NAME\s+DELETED\s+SELECTOR/);
    expect(table[1]).toMatch(/^live\s+-\s/);
    expect(table[2]).toMatch(/^gone\s+5m ago\s/);
    expect(formatResources(groups, [g('live')], { format: 'table', now }).split('\n')[0]).not.toMatch(/DELETED/);
  });

  it('writes multi-line strings as YAML block literals', () => {
    expect(toYaml({ body: 'a: 1\nb: 2\n' })).toBe('body: |\n  a: 1\n  b: 2\n');
  });

  it('refuses unknown formats as usage errors', () => {
    expect(parseOutputFormat(undefined)).toBe('table');
    expect(() => parseOutputFormat('xml')).toThrow(UsageError);
  });
});
