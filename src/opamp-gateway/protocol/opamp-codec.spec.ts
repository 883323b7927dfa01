import { create, toBinary } from '@bufbuild/protobuf';
import { AnyValue, AnyValueSchema, KeyValueListSchema, KeyValueSchema } from '../../gen/opamp/v1/anyvalue_pb';
import { AgentDescriptionSchema, AgentToServerSchema, ComponentHealth, ComponentHealthSchema } from '../../gen/opamp/v1/opamp_pb';
import { decodeAgentToServer, MalformedMessageError, MAX_MESSAGE_NESTING } from './opamp-codec';

/** An AnyValue kvlist nested `levels` deep (three messages per level). */
function nestedValue(levels: number): AnyValue {
  let v = create(AnyValueSchema, { value: { case: 'stringValue', value: 'leaf' } });
  for (let i = 0; i < levels; i++) {
    v = create(AnyValueSchema, {
      value: { case: 'kvlistValue', value: create(KeyValueListSchema, { values: [create(KeyValueSchema, { key: `k${i}`, value: v })] }) },
    });
  }
  return v;
}

function withAttribute(value: AnyValue): Uint8Array {
  const description = create(AgentDescriptionSchema, { identifyingAttributes: [create(KeyValueSchema, { key: 'deep', value })] });
  return toBinary(AgentToServerSchema, create(AgentToServerSchema, { instanceUid: new Uint8Array(16), agentDescription: description }));
}

function healthTree(levels: number): ComponentHealth {
  let h = create(ComponentHealthSchema, { healthy: true });
  for (let i = 0; i < levels; i++) h = create(ComponentHealthSchema, { healthy: true, componentHealthMap: { [`c${i}`]: h } });
  return h;
}

describe('decodeAgentToServer nesting limit', () => {
  it('decodes what a real agent nests (a few levels)', () => {
    const msg = decodeAgentToServer(withAttribute(nestedValue(5)));
    expect(msg.agentDescription?.identifyingAttributes[0].key).toBe('deep');
  });

  it(`refuses messages nested deeper than ${MAX_MESSAGE_NESTING} with a MalformedMessageError naming the limit`, () => {
    const bytes = withAttribute(nestedValue(25)); // 75 messages deep: over 64, under the library default of 100
    expect(() => decodeAgentToServer(bytes)).toThrow(MalformedMessageError);
    expect(() => decodeAgentToServer(bytes)).toThrow(/recursion depth of 64/);
  });

  it('applies the limit itself, not the library default of 100 (a health tree 70 levels deep is refused)', () => {
    const bytes = toBinary(AgentToServerSchema, create(AgentToServerSchema, { instanceUid: new Uint8Array(16), health: healthTree(70) }));
    expect(() => decodeAgentToServer(bytes)).toThrow(/recursion depth of 64/);
  });

  it('refuses a deep unknown group too (skipped fields are bounded as well)', () => {
    // Field 99, wire type 3 (start group) nested 200 times, never ended properly.
    const start = [0x9b, 0x06]; // (99 << 3) | 3 as a varint
    const bytes = Uint8Array.from(Array.from({ length: 200 }, () => start).flat());
    expect(() => decodeAgentToServer(bytes)).toThrow(MalformedMessageError);
  });
});
