import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  authorization: string | undefined;
  contentType: string | undefined;
  body: { batch: { messageId: string; type: string; [k: string]: unknown }[]; sentAt: string };
}

export type Reply = { status: number; headers?: Record<string, string>; body?: string };

/** A real HTTP server standing in for the collector: records each request, answers from a script (then 200). */
export async function collectorStub(script: Reply[] = []) {
  const requests: Received[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const reply = script.shift() ?? { status: 200, body: '{"success":true}' };
    if (reply.status === 200) {
      requests.push({
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: JSON.parse(raw),
      });
    } else {
      attempts.push(JSON.parse(raw));
    }
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(reply.body ?? '{}');
  });
  const attempts: Received['body'][] = [];
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Bodies of requests answered with an error. */
    attempts,
    events: () => requests.flatMap((r) => r.body.batch),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
