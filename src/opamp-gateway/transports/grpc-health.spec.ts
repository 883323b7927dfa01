import { decodeHealthCheckRequest, encodeHealthCheckResponse, GrpcHealthService, ServingStatus } from './grpc-health';

describe('grpc.health.v1 messages', () => {
  it('decodes HealthCheckRequest.service and skips unknown fields', () => {
    expect(decodeHealthCheckRequest(new Uint8Array())).toBe('');
    // field 1 "abc", then an unknown varint field 2 = 5
    expect(decodeHealthCheckRequest(Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63, 0x10, 0x05]))).toBe('abc');
  });

  it('throws on bytes that are not a message (the handler answers INVALID_ARGUMENT)', () => {
    expect(() => decodeHealthCheckRequest(Buffer.from([0x0a, 0x09, 0x61]))).toThrow();
  });

  it('encodes HealthCheckResponse.status as field 1 varint, UNKNOWN as the empty message', () => {
    expect([...encodeHealthCheckResponse(ServingStatus.SERVING)]).toEqual([0x08, 0x01]);
    expect([...encodeHealthCheckResponse(ServingStatus.NOT_SERVING)]).toEqual([0x08, 0x02]);
    expect(encodeHealthCheckResponse(ServingStatus.UNKNOWN).length).toBe(0);
  });
});

describe('GrpcHealthService', () => {
  it('knows the server and the registered services, NOT_SERVING until told otherwise', () => {
    const h = new GrpcHealthService(['a.B']);
    expect(h.get('')).toBe(ServingStatus.NOT_SERVING);
    expect(h.get('a.B')).toBe(ServingStatus.NOT_SERVING);
    expect(h.get('x.Y')).toBeUndefined();
    h.setAll(ServingStatus.SERVING);
    expect([h.get(''), h.get('a.B')]).toEqual([ServingStatus.SERVING, ServingStatus.SERVING]);
    h.shutdown();
    expect([h.get(''), h.get('a.B')]).toEqual([ServingStatus.NOT_SERVING, ServingStatus.NOT_SERVING]);
  });
});
