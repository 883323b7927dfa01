/** One Server-Sent Event: its name (`message` when none), id and data lines joined. */
export interface StreamEvent {
  event: string;
  id?: string;
  data: string;
}

/**
 * Splits a text/event-stream into events as its bytes arrive (the SSE framing: blocks ended by a
 * blank line, `field: value` lines, `:` comments). Feed it chunks; it returns the events each
 * chunk completes.
 */
export class EventStreamParser {
  private buffer = '';

  push(chunk: string): StreamEvent[] {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    const out: StreamEvent[] = [];
    let at: number;
    while ((at = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'id') id = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length) out.push({ event, id, data: data.join('\n') });
    }
    return out;
  }
}
