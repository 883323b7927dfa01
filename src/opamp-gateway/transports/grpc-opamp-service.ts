import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

/** Full method path of `opampcommander.v1.OpAMPTransport.Connect` (proto/opampcommander/v1/transport.proto). */
export const OPAMP_CONNECT_PATH = '/opampcommander.v1.OpAMPTransport/Connect';

/** The gRPC service name, as health checks and reflection name it. */
export const OPAMP_GRPC_SERVICE = 'opampcommander.v1.OpAMPTransport';

const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/**
 * The server side of `OpAMPTransport.Connect`, carrying protobuf bytes both ways. Messages are
 * decoded and encoded by the project's one codec (`protocol/opamp-codec.ts`, protobuf-es types)
 * in the transport, not inside grpc-js: a deserializer that throws makes grpc-js end the
 * stream with INTERNAL, whereas an undecodable AgentToServer must get error_response
 * BAD_REQUEST on a stream that stays usable; and encoding before the write lets the transport
 * hold back a message over the size limit (grpc-js would end the call) after encoding it once.
 */
export const OpampGrpcService = {
  Connect: {
    path: OPAMP_CONNECT_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: asBuffer,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: asBuffer,
    responseDeserialize: (bytes: Buffer) => bytes,
    originalName: 'connect',
  } satisfies MethodDefinition<Uint8Array, Uint8Array>,
} satisfies ServiceDefinition;
