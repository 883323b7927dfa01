import { create, fromBinary, fromJson, toBinary, toJsonString } from '@bufbuild/protobuf';
import type { JsonValue } from '@bufbuild/protobuf';
import {
  ExportMetricsPartialSuccessSchema,
  ExportMetricsServiceRequest,
  ExportMetricsServiceRequestSchema,
  ExportMetricsServiceResponseSchema,
} from '../gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb';
import type { KeyValue } from '../gen/opentelemetry/proto/common/v1/common_pb';
import { AggregationTemporality, Metric, NumberDataPoint } from '../gen/opentelemetry/proto/metrics/v1/metrics_pb';
import { StatusSchema } from '../gen/google/rpc/status_pb';
import { COMPONENT_ATTRIBUTES, knownMetric, SIGNAL_ATTRIBUTES, signalOfDataType } from './collector-metrics';
import type { WindowPoint } from './telemetry-window';

export type OtlpEncoding = 'protobuf' | 'json';

/** A request that breaks a rule: answered with `status` (400 or 413) and a google.rpc.Status body. */
export class OtlpRequestError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export interface OtlpLimits {
  maxDataPoints: number;
  maxAttributes: number;
}

/** Decodes an ExportMetricsServiceRequest (binary protobuf, or OTLP JSON: lowerCamelCase keys, enums as numbers). */
export function decodeMetricsRequest(body: Buffer, encoding: OtlpEncoding): ExportMetricsServiceRequest {
  try {
    if (encoding === 'protobuf') return fromBinary(ExportMetricsServiceRequestSchema, body);
    const json = JSON.parse(body.toString('utf8')) as JsonValue;
    return fromJson(ExportMetricsServiceRequestSchema, json, { ignoreUnknownFields: true });
  } catch (err) {
    throw new OtlpRequestError(400, `The body is not an OTLP ExportMetricsServiceRequest (${encoding}): ${(err as Error).message.slice(0, 200)}`);
  }
}

function dataPointsOf(m: Metric): { attributes: KeyValue[] }[] {
  switch (m.data.case) {
    case 'gauge':
    case 'sum':
    case 'histogram':
    case 'exponentialHistogram':
    case 'summary':
      return m.data.value.dataPoints;
    default:
      return [];
  }
}

/** Counts data points (for partial success and the limits) and refuses a request over a limit. */
export function checkLimits(req: ExportMetricsServiceRequest, limits: OtlpLimits): number {
  let points = 0;
  const attrs = (list: KeyValue[], where: string) => {
    if (list.length > limits.maxAttributes)
      throw new OtlpRequestError(400, `${where} has ${list.length} attributes, more than the ${limits.maxAttributes} accepted`);
  };
  for (const rm of req.resourceMetrics) {
    attrs(rm.resource?.attributes ?? [], 'a resource');
    for (const sm of rm.scopeMetrics) {
      attrs(sm.scope?.attributes ?? [], 'an instrumentation scope');
      for (const m of sm.metrics) {
        const dps = dataPointsOf(m);
        points += dps.length;
        if (points > limits.maxDataPoints)
          throw new OtlpRequestError(413, `The request has more than ${limits.maxDataPoints} data points (TELEMETRY_MAX_DATA_POINTS); send fewer per request`);
        for (const dp of dps) attrs(dp.attributes, `a data point of ${m.name.slice(0, 100)}`);
      }
    }
  }
  return points;
}

export function stringAttribute(list: KeyValue[] | undefined, key: string): string | undefined {
  const kv = list?.find((a) => a.key === key);
  return kv?.value?.value.case === 'stringValue' ? kv.value.value.value : undefined;
}

function numberOf(dp: NumberDataPoint): number {
  if (dp.value.case === 'asDouble') return dp.value.value;
  if (dp.value.case === 'asInt') return Number(dp.value.value);
  return NaN;
}

const NO_RECORDED_VALUE = 1;

/**
 * The kept points of one resource's metrics, attributed to series, with the number of data
 * points that were ignored (metrics the server does not keep, components beyond the bound).
 * Point times are the agent's; a time far in the future is taken as now.
 */
export function windowPointsOf(
  rm: ExportMetricsServiceRequest['resourceMetrics'][number],
  nowMs: number,
  maxComponents: number,
  components: Set<string>,
): { points: WindowPoint[]; ignored: number } {
  const points: WindowPoint[] = [];
  let ignored = 0;
  for (const sm of rm.scopeMetrics) {
    for (const m of sm.metrics) {
      const known = knownMetric(m.name);
      const dps = dataPointsOf(m);
      if (!known || (m.data.case !== 'sum' && m.data.case !== 'gauge')) {
        ignored += dps.length;
        continue;
      }
      const cumulative = m.data.case === 'gauge' || m.data.value.aggregationTemporality !== AggregationTemporality.DELTA;
      for (const dp of m.data.value.dataPoints) {
        if ((dp.flags & NO_RECORDED_VALUE) !== 0) {
          ignored++;
          continue;
        }
        let component: string | undefined;
        if (known.component) {
          component = COMPONENT_ATTRIBUTES[known.component].map((k) => stringAttribute(dp.attributes, k)).find((v) => v !== undefined);
          if (component === undefined) {
            ignored++;
            continue;
          }
          component = component.slice(0, 128);
          const key = `${known.component}/${component}`;
          if (!components.has(key)) {
            if ([...components].filter((c) => c.startsWith(`${known.component}/`)).length >= maxComponents) {
              ignored++;
              continue;
            }
            components.add(key);
          }
        }
        const signal = known.signal ?? signalOfDataType(SIGNAL_ATTRIBUTES.map((k) => stringAttribute(dp.attributes, k)).find((v) => v !== undefined));
        let timeMs = Number(dp.timeUnixNano / 1_000_000n);
        if (timeMs > nowMs + 60_000 || timeMs <= 0) timeMs = nowMs;
        const startMs = Number(dp.startTimeUnixNano / 1_000_000n);
        const attrKey = dp.attributes
          .map((a) => `${a.key}=${a.value?.value.case === 'stringValue' ? a.value.value.value : String(a.value?.value.value ?? '')}`)
          .sort()
          .join(',');
        points.push({
          series: { family: known.family, kind: known.kind, component, signal },
          streamKey: `${m.name}|${attrKey}`.slice(0, 1024),
          value: numberOf(dp),
          timeMs,
          startMs,
          cumulative,
        });
      }
    }
  }
  return { points, ignored };
}

export function encodeResponse(encoding: OtlpEncoding, rejected: number, message: string): { body: Buffer; contentType: string } {
  const res = create(ExportMetricsServiceResponseSchema, {
    partialSuccess:
      rejected > 0 || message ? create(ExportMetricsPartialSuccessSchema, { rejectedDataPoints: BigInt(rejected), errorMessage: message }) : undefined,
  });
  return encoding === 'json'
    ? { body: Buffer.from(toJsonString(ExportMetricsServiceResponseSchema, res)), contentType: 'application/json' }
    : { body: Buffer.from(toBinary(ExportMetricsServiceResponseSchema, res)), contentType: 'application/x-protobuf' };
}

/** gRPC status codes the OTLP/HTTP error body carries for each HTTP status. */
const GRPC_CODE: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 413: 8, 415: 3, 429: 8, 503: 14 };

/** An OTLP/HTTP error body: google.rpc.Status in the request's encoding. */
export function encodeStatus(encoding: OtlpEncoding, httpStatus: number, message: string): { body: Buffer; contentType: string } {
  const status = create(StatusSchema, { code: GRPC_CODE[httpStatus] ?? 2, message });
  return encoding === 'json'
    ? { body: Buffer.from(toJsonString(StatusSchema, status)), contentType: 'application/json' }
    : { body: Buffer.from(toBinary(StatusSchema, status)), contentType: 'application/x-protobuf' };
}
