// The Socket.IO 4 peer of Switchboard's scenario benchmarks: what a team
// would otherwise build a chat broadcast on. It does what the floor does
// (benches/floor), the way a Socket.IO application does it: `join` puts the
// socket in the conversation's room, `send` numbers the message, answers the
// sender and broadcasts it to the room's other sockets (`socket.to(room)`),
// encoded once per broadcast by Socket.IO. Only the websocket transport, no
// compression, nothing stored.
//
// Every frame of Switchboard's v1 protocol travels as one `frame` event whose
// argument is the frame's JSON object, so the load generator's scenarios run
// unchanged (it speaks Engine.IO's framing around them).
//
//   node server.mjs [--listen 127.0.0.1:0] [--heartbeat-ms 25000]
//
// The first line on stderr says where it listens, as the floor's does:
//   {"fields":{"message":"socket.io peer is serving","listen":"127.0.0.1:PORT"}}

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';

const { values: options } = parseArgs({
  options: {
    listen: { type: 'string', default: '127.0.0.1:0' },
    'heartbeat-ms': { type: 'string', default: '25000' },
  },
});
const [host, port] = splitAddress(options.listen);
const heartbeatMs = Number(options['heartbeat-ms']);

/** The next seq of each conversation that has seen a message. */
const lastSeq = new Map();
let connections = 0;

const http = createServer((_request, response) => {
  response.writeHead(404).end();
});
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  maxHttpBufferSize: 64 * 1024,
});

io.on('connection', (socket) => {
  connections += 1;
  const user = { user_id: randomUUID(), name: `socket.io user ${connections}` };
  socket.emit('frame', {
    type: 'welcome',
    session_id: randomUUID(),
    user: { id: user.user_id, name: user.name, account_id: '00000000-0000-0000-0000-000000000000' },
    heartbeat_ms: heartbeatMs,
  });
  socket.on('frame', (frame) => {
    const reply = answer(socket, user, frame);
    if (reply) socket.emit('frame', reply);
  });
});

/** One client frame: what it does, and the ack to send back (when it has a `ref`). */
function answer(socket, user, frame) {
  if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') {
    return { type: 'error', code: 'bad_request', message: 'a frame is an object with a `type`' };
  }
  const body = {};
  switch (frame.type) {
    case 'join':
      socket.join(frame.conversation_id);
      body.presence = emptyPresence(frame.conversation_id);
      body.messages = [];
      body.last_seq = lastSeq.get(frame.conversation_id) ?? 0;
      break;
    case 'leave':
      socket.leave(frame.conversation_id);
      body.presence = emptyPresence(frame.conversation_id);
      break;
    case 'send':
      body.message = broadcast(socket, user, frame);
      break;
    case 'subscribe_inbox':
      body.conversations = [];
      break;
    default:
      // Everything else is accepted and does nothing, as on the floor.
      break;
  }
  return typeof frame.ref === 'string' ? { type: 'ack', ref: frame.ref, ...body } : null;
}

/** Numbers the message and sends it to the room's other sockets; returns it. */
function broadcast(socket, user, frame) {
  const conversation = frame.conversation_id;
  const seq = (lastSeq.get(conversation) ?? 0) + 1;
  lastSeq.set(conversation, seq);
  const message = {
    id: randomUUID(),
    conversation_id: conversation,
    seq,
    direction: 'outbound',
    author: user,
    body: frame.body ?? '',
    created_at: new Date().toISOString(),
  };
  socket.to(conversation).emit('frame', { type: 'message', conversation_id: conversation, message });
  return message;
}

function emptyPresence(conversation) {
  return { conversation_id: conversation, active: null, observers: [], version: 0 };
}

function splitAddress(address) {
  const colon = address.lastIndexOf(':');
  if (colon < 0) throw new Error(`--listen wants HOST:PORT, got ${address}`);
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

http.listen(port, host, () => {
  const { address, port: bound } = http.address();
  const line = { fields: { message: 'socket.io peer is serving', listen: `${address}:${bound}` } };
  process.stderr.write(`${JSON.stringify(line)}\n`);
});

function stop() {
  io.close(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
