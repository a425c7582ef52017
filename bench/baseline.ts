// The yardstick: a bare node:http server doing what any server must (read the body, parse its JSON,
// answer a meeting-sized JSON body), with no auth, no validation and no storage. Every benchmark
// figure is also given as a ratio to this server, measured in the same run on the same machine.
//   node --import tsx bench/baseline.ts <port>   (prints "listening <port>")
import { createServer } from 'node:http';
import { sampleMeetingBody } from './sample-meeting.js';

const body = Buffer.from(JSON.stringify(sampleMeetingBody()));
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (chunks.length > 0) JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(req.method === 'POST' ? 201 : 200, {
      'content-type': 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8',
      'content-length': body.length,
    });
    res.end(body);
  });
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : ''}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
