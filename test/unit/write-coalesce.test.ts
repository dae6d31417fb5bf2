/**
 * src/chat/write-coalesce.ts on a real Socket.IO server and real sockets on loopback: a
 * WebSocket's writes of one turn stay corked until the turn's end and then leave together, in
 * order, whether the socket opened as a WebSocket or upgraded from long-polling; long-polling is
 * left alone; a disconnect right after a turn's emits still delivers them first.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { after, before, test } from 'node:test';
import { Server, type Socket } from 'socket.io';
import { coalesceConnection } from '../../src/chat/write-coalesce.js';
import { connect, emitAck, type ChatClient } from '../helpers/client.js';

const httpServer = createServer();
const io = new Server(httpServer, { serveClient: false });
io.engine.on('connection', coalesceConnection);
const nsp = io.of('/chat');
const serverSockets = new Map<string, Socket>();
nsp.on('connection', (socket) => {
  serverSockets.set(socket.id, socket);
  socket.on('burst', (n: number, ack: (done: true) => void) => {
    for (let i = 0; i < n; i++) socket.emit('item', i);
    ack(true);
  });
});
let url = '';
const clients: ChatClient[] = [];

before(async () => {
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
});
after(async () => {
  for (const c of clients) c.close();
  await io.close();
});

/** The server side's TCP socket of a client's connection, where it is a WebSocket. */
function rawSocket(client: ChatClient): NetSocket | undefined {
  const conn = serverSockets.get(client.id ?? '')?.conn as unknown as {
    transport: { name: string; socket?: { _socket?: NetSocket } };
  };
  return conn.transport.name === 'websocket' ? conn.transport.socket?._socket : undefined;
}

/** `burst`: the server emits `n` items and then acknowledges, all in one turn. */
const burst = (client: ChatClient, n: number): Promise<unknown> => emitAck(client, 'burst', n);

function received(client: ChatClient, count: number): Promise<number[]> {
  const got: number[] = [];
  return new Promise((resolve) => {
    const on = (i: number) => {
      got.push(i);
      if (got.length === count) {
        client.off('item' as never, on);
        resolve(got);
      }
    };
    client.on('item' as never, on);
  });
}

test('a turn’s frames wait for the turn’s end, then all arrive in order', async () => {
  const client = await connect(url, '');
  clients.push(client);
  const raw = rawSocket(client);
  assert.ok(raw, 'a WebSocket connection');
  assert.equal(Object.hasOwn(raw, 'write'), true, 'its writes are coalesced');
  const socket = serverSockets.get(client.id ?? '')!;
  const arriving = received(client, 50);
  for (let i = 0; i < 50; i++) socket.emit('item' as never, i as never);
  // Still in this turn: the first frame waits behind the cork (Engine.IO holds the rest until
  // that write is done, then hands them over together, in a later turn).
  assert.ok(raw.writableCorked > 0);
  assert.ok(raw.writableLength > 0, 'the frame is buffered, not written');
  assert.deepEqual(await arriving, [...Array(50).keys()]);
  await new Promise((r) => setImmediate(r));
  assert.equal(raw.writableCorked, 0, 'uncorked once the turns are over');
  assert.equal(raw.writableLength, 0);
});

test('an upgraded connection is coalesced too; long-polling is left alone', async () => {
  const client = await connect(url, '', { transports: ['polling', 'websocket'] });
  clients.push(client);
  const conn = serverSockets.get(client.id ?? '')!.conn;
  if (conn.transport.name !== 'websocket') await new Promise((r) => conn.once('upgrade', r));
  const raw = rawSocket(client)!;
  assert.equal(Object.hasOwn(raw, 'write'), true);
  // A handler's emits and its acknowledgement: one turn on the server, all delivered.
  const arriving = received(client, 200);
  const ack = await burst(client, 200);
  assert.equal(ack, true);
  assert.deepEqual(await arriving, [...Array(200).keys()]);

  const polling = await connect(url, '', { transports: ['polling'] });
  clients.push(polling);
  assert.equal(rawSocket(polling), undefined, 'no WebSocket, nothing coalesced');
  const got = received(polling, 3);
  await burst(polling, 3);
  assert.deepEqual(await got, [0, 1, 2]);
});

test('a disconnect right after a turn’s emits delivers them first', async () => {
  const client = await connect(url, '');
  clients.push(client);
  const socket = serverSockets.get(client.id ?? '')!;
  const arriving = received(client, 20);
  const closed = new Promise<string>((r) => client.once('disconnect', r));
  for (let i = 0; i < 20; i++) socket.emit('item' as never, i as never);
  socket.disconnect(true);
  assert.deepEqual(await arriving, [...Array(20).keys()]);
  assert.equal(await closed, 'io server disconnect');
});
