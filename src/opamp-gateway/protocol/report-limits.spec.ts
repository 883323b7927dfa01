import { create } from '@bufbuild/protobuf';
import { AnyValueSchema, ArrayValueSchema, KeyValue, KeyValueSchema } from '../../gen/opamp/v1/anyvalue_pb';
import {
  AgentConfigFileSchema,
  AgentConfigMapSchema,
  AgentDescriptionSchema,
  AgentToServerSchema,
  AvailableComponentsSchema,
  ComponentDetailsSchema,
  ComponentHealth,
  ComponentHealthSchema,
  EffectiveConfigSchema,
} from '../../gen/opamp/v1/opamp_pb';
import { checkReportLimits, ReportLimits } from './report-limits';

const LIMITS: ReportLimits = {
  maxAttributes: 4,
  maxAttributeKeyBytes: 8,
  maxAttributeValueBytes: 32,
  maxEffectiveConfigFileBytes: 100,
  maxEffectiveConfigBytes: 150,
  maxHealthDepth: 2,
  maxHealthComponents: 5,
  maxAvailableComponents: 3,
};

const str = (key: string, value: string): KeyValue => create(KeyValueSchema, { key, value: create(AnyValueSchema, { value: { case: 'stringValue', value } }) });
const withDescription = (identifying: KeyValue[], nonIdentifying: KeyValue[] = []) =>
  create(AgentToServerSchema, {
    agentDescription: create(AgentDescriptionSchema, { identifyingAttributes: identifying, nonIdentifyingAttributes: nonIdentifying }),
  });
const tree = (levels: number, width = 1): ComponentHealth => {
  let h = create(ComponentHealthSchema, { healthy: true });
  for (let i = 0; i < levels; i++) {
    const map: Record<string, ComponentHealth> = {};
    for (let w = 0; w < width; w++) map[`c${w}`] = h;
    h = create(ComponentHealthSchema, { healthy: true, componentHealthMap: map });
  }
  return h;
};
const files = (sizes: number[]) =>
  create(AgentToServerSchema, {
    effectiveConfig: create(EffectiveConfigSchema, {
      configMap: create(AgentConfigMapSchema, {
        configMap: Object.fromEntries(sizes.map((n, i) => [`f${i}`, create(AgentConfigFileSchema, { body: new Uint8Array(n) })])),
      }),
    }),
  });

describe('checkReportLimits', () => {
  // Each row: what the report holds, the limit it must trip (undefined: accepted).
  const cases: [string, ReturnType<typeof create<typeof AgentToServerSchema>>, keyof ReportLimits | undefined][] = [
    ['an empty message', create(AgentToServerSchema, {}), undefined],
    ['a description at the limits', withDescription([str('k1', 'v'), str('k2', 'x'.repeat(32))], [str('12345678', 'v'), str('k4', 'v')]), undefined],
    ['five attributes across both lists', withDescription([str('a', 'v'), str('b', 'v'), str('c', 'v')], [str('d', 'v'), str('e', 'v')]), 'maxAttributes'],
    ['a 9-byte key', withDescription([str('123456789', 'v')]), 'maxAttributeKeyBytes'],
    ['a multi-byte key over 8 bytes', withDescription([str('ééééé', 'v')]), 'maxAttributeKeyBytes'],
    ['a 33-byte value', withDescription([str('k', 'x'.repeat(33))]), 'maxAttributeValueBytes'],
    [
      'an array value summing over the limit',
      withDescription([
        create(KeyValueSchema, {
          key: 'k',
          value: create(AnyValueSchema, {
            value: {
              case: 'arrayValue',
              value: create(ArrayValueSchema, {
                values: Array.from({ length: 5 }, () => create(AnyValueSchema, { value: { case: 'stringValue', value: 'abcdefg' } })),
              }),
            },
          }),
        }),
      ]),
      'maxAttributeValueBytes',
    ],
    ['a health tree 2 levels deep', create(AgentToServerSchema, { health: tree(2) }), undefined],
    ['a health tree 3 levels deep', create(AgentToServerSchema, { health: tree(3) }), 'maxHealthDepth'],
    ['a health tree of 6 components', create(AgentToServerSchema, { health: tree(1, 6) }), 'maxHealthComponents'],
    [
      'health attributes over the count',
      create(AgentToServerSchema, { health: create(ComponentHealthSchema, { attributes: ['a', 'b', 'c', 'd', 'e'].map((k) => str(k, 'v')) }) }),
      'maxAttributes',
    ],
    ['config files within both limits', files([100, 40]), undefined],
    ['a 101-byte config file', files([101]), 'maxEffectiveConfigFileBytes'],
    ['config files over the total', files([100, 60]), 'maxEffectiveConfigBytes'],
    [
      'four available components (one a sub-component)',
      create(AgentToServerSchema, {
        availableComponents: create(AvailableComponentsSchema, {
          components: {
            a: create(ComponentDetailsSchema, { subComponentMap: { a1: create(ComponentDetailsSchema, {}) } }),
            b: create(ComponentDetailsSchema, {}),
            c: create(ComponentDetailsSchema, {}),
          },
        }),
      }),
      'maxAvailableComponents',
    ],
  ];

  it.each(cases)('%s', (_name, msg, limit) => {
    const v = checkReportLimits(msg, LIMITS);
    expect(v?.limit).toBe(limit);
  });

  it('names the setting and the limit in the message', () => {
    const v = checkReportLimits(withDescription([str('k', 'x'.repeat(33))]), LIMITS)!;
    expect(v.setting).toBe('OPAMP_MAX_ATTRIBUTE_VALUE_BYTES');
    expect(v.message).toMatch(/nothing of it stored: .*limit of 32 \(OPAMP_MAX_ATTRIBUTE_VALUE_BYTES\)/);
  });
});
