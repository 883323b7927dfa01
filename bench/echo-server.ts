/**
 * The platform baseline: the `ws` library alone, answering every binary frame with one small
 * binary frame shaped like an OpAMP acknowledgement (0x00 header, the request's instance_uid
 * field, capabilities). Whatever OpAMP Commander costs beyond this is ours.
 */
import { WebSocketServer } from 'ws';

const ACK_TAIL = Buffer.from([0x38, 0x01]); // ServerToAgent.capabilities = AcceptsStatus

function main(): void {
  const port = Number(process.argv[2] ?? 0);
  const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return ws.close(1003);
      // Our agents put instance_uid (field 1, 16 bytes: 18 bytes with tag and length) first.
      const uidField = data.length >= 19 && data[1] === 0x0a && data[2] === 0x10 ? data.subarray(1, 19) : Buffer.alloc(0);
      const out = Buffer.allocUnsafe(1 + uidField.length + ACK_TAIL.length);
      out[0] = 0x00;
      uidField.copy(out, 1);
      ACK_TAIL.copy(out, 1 + uidField.length);
      ws.send(out, { binary: true });
    });
    ws.on('error', () => undefined);
  });
  wss.on('listening', () => {
    const addr = wss.address();
    process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : port}\n`);
  });
  const stop = () => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
