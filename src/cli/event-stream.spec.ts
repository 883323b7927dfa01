import { EventStreamParser } from './event-stream';

describe('EventStreamParser', () => {
  it('splits events across chunks, skips comments and keeps names and ids', () => {
    const p = new EventStreamParser();
    expect(p.push(': keep-alive\n\nretry: 1000\n\nid: a-1\ndata: {"type":"ADD')).toEqual([]);
    expect(p.push('ED"}\n\nevent: ready\r\nid: a-1\r\ndata: {}\r\n\r\n')).toEqual([
      { event: 'message', id: 'a-1', data: '{"type":"ADDED"}' },
      { event: 'ready', id: 'a-1', data: '{}' },
    ]);
  });
});
