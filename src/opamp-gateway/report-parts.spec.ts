import { create } from '@bufbuild/protobuf';
import type { StoredAgentSummary } from '../agents/agents.service';
import {
  AgentDescriptionSchema,
  AgentToServerSchema,
  AvailableComponentsSchema,
  ComponentDetailsSchema,
  ComponentHealthSchema,
  RemoteConfigStatusSchema,
  RemoteConfigStatuses,
} from '../gen/opamp/v1/opamp_pb';
import { takeReport } from './report-parts';

const held = (x: Partial<StoredAgentSummary> = {}): StoredAgentSummary => ({
  capabilities: 0x1001,
  hasDescription: true,
  hasHealth: false,
  hasEffectiveConfig: false,
  hasRemoteConfigStatus: false,
  hasPackageStatuses: false,
  hasConnectionSettingsStatus: false,
  ...x,
});

describe('taking a report into what the server holds', () => {
  it('capabilities 0 in a poll means "unchanged", not "none"', () => {
    const holds = held();
    expect(takeReport(create(AgentToServerSchema, { capabilities: 0n }), holds).parts).toEqual({});
    expect(holds.capabilities).toBe(0x1001);
  });

  it('stores capabilities only when they change', () => {
    expect(takeReport(create(AgentToServerSchema, { capabilities: 0x1001n }), held()).parts).toEqual({});
    const holds = held();
    expect(takeReport(create(AgentToServerSchema, { capabilities: 0x1003n }), holds).parts).toEqual({ capabilities: 0x1003 });
    expect(holds.capabilities).toBe(0x1003);
  });

  it('an absent part changes nothing; a present one is stored and noted as held', () => {
    const holds = held();
    const { parts } = takeReport(
      create(AgentToServerSchema, {
        health: create(ComponentHealthSchema, { healthy: true, status: 'StatusOK' }),
        remoteConfigStatus: create(RemoteConfigStatusSchema, {
          lastRemoteConfigHash: Buffer.from('ab', 'hex'),
          status: RemoteConfigStatuses.RemoteConfigStatuses_FAILED,
          errorMessage: 'bad',
        }),
      }),
      holds,
    );
    expect(Object.keys(parts).sort()).toEqual(['health', 'remoteConfigStatus']);
    expect(parts.remoteConfigStatus).toEqual({ lastRemoteConfigHash: 'ab', status: 'FAILED', errorMessage: 'bad' });
    expect(holds).toMatchObject({
      hasHealth: true,
      hasRemoteConfigStatus: true,
      remoteConfigStatus: parts.remoteConfigStatus,
      hasDescription: true,
      hasEffectiveConfig: false,
    });
  });

  it('a description is held as stored, so group selectors see it in this very answer', () => {
    const holds = held({ hasDescription: false });
    const description = create(AgentDescriptionSchema, {});
    const { parts } = takeReport(create(AgentToServerSchema, { agentDescription: description }), holds);
    expect(holds.hasDescription).toBe(true);
    expect(holds.description).toBe(parts.description);
  });

  it('available components: a map goes to the catalog by its hash; a hash alone is only noted, once', () => {
    const withMap = create(AgentToServerSchema, {
      availableComponents: create(AvailableComponentsSchema, { hash: Buffer.from('c1', 'hex'), components: { receivers: create(ComponentDetailsSchema, {}) } }),
    });
    const holds = held();
    const first = takeReport(withMap, holds);
    expect(first.catalog?.hash).toBe('c1');
    expect(first.parts).toEqual({ availableComponentsHash: 'c1' });

    const hashOnly = create(AgentToServerSchema, { availableComponents: create(AvailableComponentsSchema, { hash: Buffer.from('c1', 'hex') }) });
    expect(takeReport(hashOnly, holds)).toEqual({ parts: {}, catalog: undefined });
  });
});
