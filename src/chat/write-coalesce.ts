/**
 * One write per WebSocket connection per turn of the event loop. A message goes out to each of
 * its room's sockets as a frame of its own, and `ws` writes every frame straight to its TCP
 * socket: one syscall per frame, the largest part of a message's cost (a profile at a fixed rate
 * spent a third of the node's time in `writev`). A connection's socket here is corked at its
 * first write in a turn and uncorked once the turn's I/O is handled (`setImmediate`), so what
 * one turn writes to it leaves in one `writev`. Engine.IO hands `ws` one packet and holds the
 * rest it has queued until that write is done: a busy connection's frames of a turn go out in
 * two writes, the first at the end of the turn and the others together at the end of the next.
 * Under load that is fewer syscalls for the same bytes; when quiet, a write waits at most for
 * the rest of its own turn (one made by an immediate itself, for the next turn's).
 */
import type { Socket } from 'node:net';

type Write = Socket['write'];

/** The sockets corked by this module in this turn (`ws` corks a frame's two parts itself too). */
let corked = new Set<Socket>();

function uncorkAll(): void {
  // Uncorking writes, which may run callbacks that write again: those cork anew for the next turn.
  const batch = corked;
  corked = new Set();
  for (const socket of batch) {
    // One socket's failure must not leave the others corked for good.
    try {
      socket.uncork();
    } catch (err) {
      socket.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/** Shared by every coalesced socket (no closure per connection: idle memory counts per socket). */
function coalescedWrite(this: Socket, ...args: Parameters<Write>): boolean {
  if (!corked.has(this) && !this.destroyed) {
    this.cork();
    if (corked.size === 0) setImmediate(uncorkAll);
    corked.add(this);
  }
  // The class's own write (net.Socket's, or a subclass's): only the instance's is replaced.
  return (Object.getPrototypeOf(this) as Socket).write.apply(this, args);
}

/** Coalesces a WebSocket connection's writes from now on (its handshake answer is already out). */
function coalesceWrites(socket: Socket): void {
  // Already coalesced, or someone else's write on this very socket: left as it is.
  if (Object.hasOwn(socket, 'write')) return;
  socket.write = coalescedWrite as Write;
}

/** What this module needs of an Engine.IO transport and connection (engine.io's own types). */
interface Transport {
  name: string;
  socket?: unknown;
}
interface Connection {
  transport: Transport;
  once(event: 'upgrade', listener: (transport: Transport) => void): unknown;
}

/**
 * An Engine.IO transport's TCP socket, where it is a WebSocket: `ws` keeps it as `_socket` (not
 * typed; Engine.IO itself reaches into `ws` the same way for its pre-encoded frames).
 */
function coalesceTransport(transport: Transport): void {
  if (transport.name !== 'websocket') return;
  const raw = (transport.socket as { _socket?: Socket } | undefined)?._socket;
  if (raw) coalesceWrites(raw);
}

/**
 * For Engine.IO's 'connection': a WebSocket from the start, or once upgraded from long-polling.
 * Only a long-polling connection listens for its upgrade: a listener on every WebSocket
 * connection, which never upgrades, would be held for the connection's life.
 */
export function coalesceConnection(conn: Connection): void {
  if (conn.transport.name === 'websocket') coalesceTransport(conn.transport);
  else conn.once('upgrade', coalesceTransport);
}
