import type { AnyValue, KeyValue } from '../../gen/opamp/v1/anyvalue_pb';
import type { ReportLimits } from '../../config/app-config';
import type { AgentToServer, ComponentDetails, ComponentHealth } from '../../gen/opamp/v1/opamp_pb';

export type { ReportLimits };

/** The setting that holds each limit, named in the answer so the operator knows what to raise. */
export const REPORT_LIMIT_SETTINGS: Record<keyof ReportLimits, string> = {
  maxAttributes: 'OPAMP_MAX_ATTRIBUTES',
  maxAttributeKeyBytes: 'OPAMP_MAX_ATTRIBUTE_KEY_BYTES',
  maxAttributeValueBytes: 'OPAMP_MAX_ATTRIBUTE_VALUE_BYTES',
  maxEffectiveConfigFileBytes: 'OPAMP_MAX_EFFECTIVE_CONFIG_FILE_BYTES',
  maxEffectiveConfigBytes: 'OPAMP_MAX_EFFECTIVE_CONFIG_BYTES',
  maxHealthDepth: 'OPAMP_MAX_HEALTH_DEPTH',
  maxHealthComponents: 'OPAMP_MAX_HEALTH_COMPONENTS',
  maxAvailableComponents: 'OPAMP_MAX_AVAILABLE_COMPONENTS',
};

/** A report over a limit: which one, and a sentence for the agent's error_response. */
export interface LimitViolation {
  limit: keyof ReportLimits;
  setting: string;
  message: string;
}

class Over extends Error {
  constructor(
    readonly limit: keyof ReportLimits,
    readonly what: string,
    readonly max: number,
  ) {
    super(what);
  }
}

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** Bytes of one value as counted for maxAttributeValueBytes; stops counting once over `max`. */
function valueBytes(v: AnyValue | undefined, max: number): number {
  if (!v) return 0;
  const val = v.value;
  switch (val.case) {
    case 'stringValue':
      return utf8Bytes(val.value);
    case 'bytesValue':
      return val.value.byteLength;
    case 'boolValue':
      return 1;
    case 'intValue':
    case 'doubleValue':
      return 8;
    case 'arrayValue': {
      let n = 0;
      for (const x of val.value.values) if ((n += valueBytes(x, max) + 1) > max) break;
      return n;
    }
    case 'kvlistValue': {
      let n = 0;
      for (const kv of val.value.values) if ((n += utf8Bytes(kv.key) + valueBytes(kv.value, max) + 1) > max) break;
      return n;
    }
    default:
      return 0;
  }
}

function checkAttributes(where: string, kvs: KeyValue[], limits: ReportLimits): void {
  if (kvs.length > limits.maxAttributes) throw new Over('maxAttributes', `${where} has ${kvs.length} attributes`, limits.maxAttributes);
  for (const kv of kvs) {
    const keyBytes = utf8Bytes(kv.key);
    if (keyBytes > limits.maxAttributeKeyBytes)
      throw new Over('maxAttributeKeyBytes', `${where} has an attribute key of ${keyBytes} bytes`, limits.maxAttributeKeyBytes);
    const bytes = valueBytes(kv.value, limits.maxAttributeValueBytes);
    if (bytes > limits.maxAttributeValueBytes) {
      throw new Over(
        'maxAttributeValueBytes',
        `${where} attribute "${kv.key.slice(0, 64)}" has a value of more than ${limits.maxAttributeValueBytes} bytes`,
        limits.maxAttributeValueBytes,
      );
    }
  }
}

function checkHealth(h: ComponentHealth, limits: ReportLimits): void {
  let components = 0;
  const walk = (node: ComponentHealth, depth: number, path: string) => {
    checkAttributes(`health${path}`, node.attributes, limits);
    const children = Object.entries(node.componentHealthMap);
    if (children.length === 0) return;
    if (depth + 1 > limits.maxHealthDepth)
      throw new Over('maxHealthDepth', `the health tree is more than ${limits.maxHealthDepth} levels deep`, limits.maxHealthDepth);
    components += children.length;
    if (components > limits.maxHealthComponents)
      throw new Over('maxHealthComponents', `the health tree has more than ${limits.maxHealthComponents} components`, limits.maxHealthComponents);
    for (const [name, c] of children) walk(c, depth + 1, `${path}/${name.slice(0, 64)}`);
  };
  walk(h, 0, '');
}

function checkComponents(map: Record<string, ComponentDetails>, limits: ReportLimits): void {
  let count = 0;
  const walk = (m: Record<string, ComponentDetails>) => {
    for (const [name, d] of Object.entries(m)) {
      if (++count > limits.maxAvailableComponents) {
        throw new Over(
          'maxAvailableComponents',
          `available_components has more than ${limits.maxAvailableComponents} components`,
          limits.maxAvailableComponents,
        );
      }
      checkAttributes(`available component "${name.slice(0, 64)}" metadata`, d.metadata, limits);
      walk(d.subComponentMap);
    }
  };
  walk(map);
}

/**
 * The first limit the report exceeds, or undefined when all of it may be stored. A report over a
 * limit is refused whole (nothing of it is stored), so what the server holds is always a report
 * the agent really sent. Pure.
 */
export function checkReportLimits(msg: AgentToServer, limits: ReportLimits): LimitViolation | undefined {
  try {
    if (msg.agentDescription) {
      const d = msg.agentDescription;
      const all = d.identifyingAttributes.length + d.nonIdentifyingAttributes.length;
      if (all > limits.maxAttributes) throw new Over('maxAttributes', `agent_description has ${all} attributes`, limits.maxAttributes);
      checkAttributes('agent_description', d.identifyingAttributes, limits);
      checkAttributes('agent_description', d.nonIdentifyingAttributes, limits);
    }
    if (msg.health) checkHealth(msg.health, limits);
    const files = Object.entries(msg.effectiveConfig?.configMap?.configMap ?? {});
    let total = 0;
    for (const [name, f] of files) {
      const size = f.body.byteLength;
      if (size > limits.maxEffectiveConfigFileBytes) {
        throw new Over('maxEffectiveConfigFileBytes', `effective_config file "${name.slice(0, 64)}" has ${size} bytes`, limits.maxEffectiveConfigFileBytes);
      }
      total += size + utf8Bytes(name) + utf8Bytes(f.contentType);
    }
    if (total > limits.maxEffectiveConfigBytes)
      throw new Over('maxEffectiveConfigBytes', `effective_config has ${total} bytes in all`, limits.maxEffectiveConfigBytes);
    if (msg.availableComponents) checkComponents(msg.availableComponents.components, limits);
    return undefined;
  } catch (err) {
    if (!(err instanceof Over)) throw err;
    const setting = REPORT_LIMIT_SETTINGS[err.limit];
    return {
      limit: err.limit,
      setting,
      message: `report refused, nothing of it stored: ${err.what}, over the limit of ${err.max} (${setting})`,
    };
  }
}
