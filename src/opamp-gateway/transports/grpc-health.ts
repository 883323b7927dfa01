import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

/** `grpc.health.v1.HealthCheckResponse.ServingStatus`. */
export enum ServingStatus {
  UNKNOWN = 0,
  SERVING = 1,
  NOT_SERVING = 2,
  /** Used only by Watch, for a service the server does not know. */
  SERVICE_UNKNOWN = 3,
}

/** Decodes `HealthCheckRequest { string service = 1; }`; throws on bytes that are not one. */
export function decodeHealthCheckRequest(bytes: Uint8Array): string {
  const reader = new BinaryReader(bytes);
  let service = '';
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) service = reader.string();
    else reader.skip(wireType, field);
  }
  return service;
}

/** Encodes `HealthCheckResponse { ServingStatus status = 1; }`. */
export function encodeHealthCheckResponse(status: ServingStatus): Buffer {
  const writer = new BinaryWriter();
  if (status !== ServingStatus.UNKNOWN) writer.tag(1, WireType.Varint).int32(status);
  return Buffer.from(writer.finish());
}

const bytesIn = (bytes: Buffer) => bytes;
const bytesOut = (bytes: Uint8Array) => Buffer.from(bytes);

/**
 * `grpc.health.v1.Health`, described by hand: two tiny messages encoded with protobuf-es's wire
 * reader and writer, so no extra package or .proto file is needed. Requests arrive as bytes and
 * are decoded in the handler, so a bad request gets INVALID_ARGUMENT rather than INTERNAL.
 */
export const HealthGrpcService = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: bytesOut,
    requestDeserialize: bytesIn,
    responseSerialize: bytesOut,
    responseDeserialize: bytesIn,
    originalName: 'check',
  },
  Watch: {
    path: '/grpc.health.v1.Health/Watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: bytesOut,
    requestDeserialize: bytesIn,
    responseSerialize: bytesOut,
    responseDeserialize: bytesIn,
    originalName: 'watch',
  },
} satisfies ServiceDefinition;

type WatchCall = ServerWritableStream<Buffer, Buffer>;

/**
 * The standard gRPC health service (what Kubernetes `grpc:` probes and grpc-health-probe call).
 * The overall server ('') and each registered service are NOT_SERVING until the listener is
 * bound, SERVING while it listens, and NOT_SERVING again once shutdown begins; Watch streams
 * get every change and are ended at shutdown.
 */
export class GrpcHealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<WatchCall>>();

  constructor(services: readonly string[]) {
    for (const name of ['', ...services]) this.statuses.set(name, ServingStatus.NOT_SERVING);
  }

  /** Sets every known service (and the server as a whole) to `status` and tells the watchers. */
  setAll(status: ServingStatus): void {
    for (const name of this.statuses.keys()) this.set(name, status);
  }

  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const call of this.watchers.get(service) ?? []) call.write(encodeHealthCheckResponse(status));
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** NOT_SERVING to everyone, then ends every Watch stream so a graceful server shutdown is not held up. */
  shutdown(): void {
    this.setAll(ServingStatus.NOT_SERVING);
    for (const calls of this.watchers.values()) {
      for (const call of calls) call.emit('error', { code: GrpcStatus.UNAVAILABLE, details: 'server shutting down', metadata: new Metadata() });
      calls.clear();
    }
  }

  readonly implementation: UntypedServiceImplementation = {
    Check: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      const service = this.requestedService(call.request);
      if (service === undefined) return callback({ code: GrpcStatus.INVALID_ARGUMENT, details: 'undecodable HealthCheckRequest' });
      const status = this.statuses.get(service);
      if (status === undefined) return callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service ${JSON.stringify(service)}` });
      callback(null, encodeHealthCheckResponse(status));
    },
    Watch: (call: WatchCall) => {
      const service = this.requestedService(call.request);
      if (service === undefined) {
        call.emit('error', { code: GrpcStatus.INVALID_ARGUMENT, details: 'undecodable HealthCheckRequest' });
        return;
      }
      let set = this.watchers.get(service);
      if (!set) this.watchers.set(service, (set = new Set()));
      set.add(call);
      const forget = () => {
        set.delete(call);
        if (set.size === 0 && this.watchers.get(service) === set) this.watchers.delete(service);
      };
      call.on('cancelled', forget);
      call.on('close', forget);
      call.on('error', forget);
      call.write(encodeHealthCheckResponse(this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN));
    },
  };

  private requestedService(bytes: Buffer): string | undefined {
    try {
      return decodeHealthCheckRequest(bytes);
    } catch {
      return undefined;
    }
  }
}
