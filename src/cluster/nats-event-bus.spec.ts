import { natsConnectOptions } from './nats-event-bus';

describe('natsConnectOptions (credentials in NATS_URL)', () => {
  it.each([
    [['nats://nats:4222'], { servers: ['nats://nats:4222'] }],
    [
      ['nats://app:s%40cret@nats-0:4222', 'nats://app:s%40cret@nats-1:4222'],
      { servers: ['nats://nats-0:4222', 'nats://nats-1:4222'], user: 'app', pass: 's@cret' },
    ],
    [['nats://T0KEN@nats:4222'], { servers: ['nats://nats:4222'], token: 'T0KEN' }],
    [['tls://nats.example.com:4443'], { servers: ['tls://nats.example.com:4443'] }],
    [['nats:4222'], { servers: ['nats://nats:4222'] }],
  ])('%j', (urls, expected) => {
    expect(natsConnectOptions(urls)).toEqual(expected);
  });
});
