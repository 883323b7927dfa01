import { buildRemoteConfig, buildServerToAgent } from './server-to-agent.builder';
import { decodeServerToAgent, encodeServerToAgent } from './opamp-codec';

describe('the ServerToAgent builder: remote config', () => {
  const content = {
    hash: Buffer.from('ab'.repeat(32), 'hex'),
    entries: [
      { fileName: 'collector.yaml', contentType: 'application/yaml', body: Buffer.from('receivers: {}\n') },
      { fileName: '', contentType: '', body: Buffer.from('extensions: {}\n') },
    ],
  };

  it('carries the complete map and always its hash (opamp-go cannot report status without it)', () => {
    const msg = decodeServerToAgent(
      encodeServerToAgent(buildServerToAgent({ instanceUid: new Uint8Array(16), withCapabilities: false, remoteConfig: buildRemoteConfig(content) })),
    );
    expect(Buffer.from(msg.remoteConfig!.configHash).toString('hex')).toBe('ab'.repeat(32));
    const map = msg.remoteConfig!.config!.configMap;
    expect(Object.keys(map).sort()).toEqual(['', 'collector.yaml']);
    expect(Buffer.from(map['collector.yaml'].body).toString()).toBe('receivers: {}\n');
    expect(map['collector.yaml'].contentType).toBe('application/yaml');
    expect(Buffer.from(map[''].body).toString()).toBe('extensions: {}\n');
  });

  it('makes the message once per desired config, however many agents it goes to', () => {
    expect(buildRemoteConfig(content)).toBe(buildRemoteConfig(content));
  });
});
