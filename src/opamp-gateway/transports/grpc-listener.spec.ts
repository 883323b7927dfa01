import { Metadata } from '@grpc/grpc-js';
import { loadConfig } from '../../config/app-config';
import { bindAddress, grpcServerOptions, metadataHeaders } from './grpc-listener';
import { peerAddress } from './grpc-transport';

describe('gRPC listener helpers', () => {
  it('hands request metadata to the authenticator as headers, leaving binary entries out', () => {
    const md = new Metadata();
    md.set('authorization', 'Bearer abc');
    md.add('x-multi', 'a');
    md.add('x-multi', 'b');
    md.set('trace-bin', Buffer.from([1, 2]));
    expect(metadataHeaders(md)).toEqual({ authorization: 'Bearer abc', 'x-multi': 'a, b' });
  });

  it('brackets IPv6 hosts in the bind address', () => {
    expect(bindAddress('0.0.0.0', 4321)).toBe('0.0.0.0:4321');
    expect(bindAddress('::', 0)).toBe('[::]:0');
    expect(bindAddress('[::1]', 5)).toBe('[::1]:5');
    expect(bindAddress('localhost', 5)).toBe('localhost:5');
  });

  it('reads the peer address from grpc-js peers', () => {
    expect(peerAddress('127.0.0.1:5000')).toBe('127.0.0.1');
    expect(peerAddress('[::1]:5000')).toBe('::1');
    expect(peerAddress('[::ffff:10.0.0.1]:5000')).toBe('::ffff:10.0.0.1');
    expect(peerAddress('unknown')).toBe('unknown');
  });

  it('sizes messages and keepalive from the configuration', () => {
    const c = loadConfig({ OPAMP_MAX_MESSAGE_BYTES: '2048', GRPC_KEEPALIVE_SECONDS: '15', GRPC_IDLE_TIMEOUT_SECONDS: '7' }, []);
    expect(grpcServerOptions(c)).toMatchObject({
      'grpc.max_receive_message_length': 2048,
      'grpc.max_send_message_length': 2048,
      'grpc.keepalive_time_ms': 15_000,
      'grpc.max_connection_idle_ms': 7_000,
    });
  });

  it('wants both TLS files or neither', () => {
    expect(() => loadConfig({ GRPC_TLS_CERT_FILE: '/x/tls.crt' }, [])).toThrow(/GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE must be set together/);
    expect(loadConfig({ GRPC_TLS_CERT_FILE: '/x/tls.crt', GRPC_TLS_KEY_FILE: '/x/tls.key' }, []).grpc).toMatchObject({
      tlsCertFile: '/x/tls.crt',
      tlsKeyFile: '/x/tls.key',
    });
    expect(loadConfig({}, []).grpc).toEqual({ tlsCertFile: undefined, tlsKeyFile: undefined, idleTimeoutSeconds: 30, keepaliveSeconds: 30 });
  });
});
