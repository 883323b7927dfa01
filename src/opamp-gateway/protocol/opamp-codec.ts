import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { BinaryReadOptions } from '@bufbuild/protobuf';
import { AgentToServer, AgentToServerSchema, ServerToAgent, ServerToAgentSchema } from '../../gen/opamp/v1/opamp_pb';

import { MalformedMessageError } from '../../protocol/malformed-message';

/** A message that cannot be accepted; the transport turns it into BAD_REQUEST, 400 or a close code (re-exported for the transports). */
export { MalformedMessageError };

/**
 * Nesting of messages deeper than this (health trees, component maps, AnyValue lists) is hostile,
 * not a real agent: the decoder refuses it (@bufbuild/protobuf's `recursionLimit`, which also
 * bounds unknown groups it skips) and the transport answers BAD_REQUEST / 400. One level of an
 * AnyValue kvlist costs three messages (AnyValue, KeyValueList, KeyValue), a health level one.
 */
export const MAX_MESSAGE_NESTING = 64;

const READ_OPTIONS: Partial<BinaryReadOptions> = { readUnknownFields: false, recursionLimit: MAX_MESSAGE_NESTING };

/** Decodes a protobuf AgentToServer; unknown fields are skipped, not kept. */
export function decodeAgentToServer(bytes: Uint8Array): AgentToServer {
  try {
    return fromBinary(AgentToServerSchema, bytes, READ_OPTIONS);
  } catch (err) {
    throw new MalformedMessageError(`undecodable AgentToServer: ${(err as Error).message}`);
  }
}

export function encodeServerToAgent(msg: ServerToAgent): Uint8Array {
  return toBinary(ServerToAgentSchema, msg);
}

export function encodeAgentToServer(msg: AgentToServer): Uint8Array {
  return toBinary(AgentToServerSchema, msg);
}

export function decodeServerToAgent(bytes: Uint8Array): ServerToAgent {
  return fromBinary(ServerToAgentSchema, bytes);
}

/**
 * WebSocket framing: a varint header that must be 0 precedes the protobuf bytes. Frames from
 * pre-2023 clients have no header; they start with a protobuf tag, which is never 0, so a
 * first byte other than 0x00 means "decode the whole frame".
 */
export function unframeWebSocket(frame: Uint8Array): Uint8Array {
  if (frame.length === 0) return frame;
  if (frame[0] === 0x00) return frame.subarray(1);
  // A byte with the high bit set would start a multi-byte varint header; as a protobuf tag it
  // would mean field number >= 16 with a continuation, which AgentToServer does not have. A
  // header of 0 encoded in several bytes (0x80 0x00) is still 0, but any other value is not.
  if ((frame[0] & 0x80) !== 0) {
    let i = 0;
    let value = 0;
    let shift = 0;
    while (i < frame.length && i < 10) {
      const b = frame[i++];
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    if (value !== 0) throw new MalformedMessageError(`WebSocket message header must be 0, got ${value}`);
    return frame.subarray(i);
  }
  return frame;
}

/** Prefixes the 0x00 header for a WebSocket frame. */
export function frameWebSocket(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(payload.length + 1);
  out[0] = 0x00;
  out.set(payload, 1);
  return out;
}
