/**
 * The peer of the HTTP benchmark: a bare node:http handler answering the same kind of JSON,
 * with no framework, no authentication and no database.
 */
import http from 'node:http';

const body = JSON.stringify({
  events: [
    {
      v: 1,
      id: '0193a6f0-0000-7000-8000-000000000000',
      time: new Date().toISOString(),
      kind: 'auth.login.succeeded',
      source: 'identity',
    },
  ],
});
const server = http.createServer((_req, res) => {
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${addr.port}` })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
