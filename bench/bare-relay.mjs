// The ceiling: a bare Socket.IO relay with the chat's namespace and events, and nothing else
// (no sign-in, no storage, no validation, no rate limit). `npm run bench` drives it with the same
// generator at the same steps as the real server, so the ratio isolates what the chat adds.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const ROOM_SIZE = 10;
const port = Number(process.env.PORT ?? 0);

const http = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
});
const io = new Server(http, { transports: ['websocket'], serveClient: false });
const nsp = io.of('/chat');

let joined = 0;
let nextId = 0;

nsp.on('connection', (socket) => {
  let room = null;
  socket.on('join_random', (_payload, ack) => {
    if (room === null) {
      room = `Random_${Math.floor(joined / ROOM_SIZE)}`;
      joined += 1;
      socket.join(room);
    }
    if (typeof ack === 'function') ack({ ok: true, room_id: room, room_name: room });
  });
  socket.on('text', (payload, ack) => {
    const time = new Date().toISOString();
    const id = String(nextId++);
    nsp.to(payload.room_id).emit('internal_msg', {
      id,
      room_id: payload.room_id,
      uid: socket.id,
      name: socket.id,
      picture: '',
      msg: payload.msg,
      time,
      type: 'user',
    });
    if (typeof ack === 'function') ack({ ok: true, id, time });
  });
});

http.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ level: 30, msg: 'listening', port: http.address().port })}\n`);
});

const stop = () => io.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
