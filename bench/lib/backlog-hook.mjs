// Preloaded (`--import`) into a chat node by the reconnect-storm scenario when asked
// (BENCH_STORM_BACKLOG): every `server.listen(port, cb)` of the process gets that listen backlog
// instead of Node's default 511, to measure what a larger accept queue does to a storm without
// changing the app. The app itself calls `httpServer.listen(port, cb)` (src/server.ts).
import net from 'node:net';

const backlog = Number(process.env.BENCH_LISTEN_BACKLOG);
if (Number.isInteger(backlog) && backlog > 0) {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function listenWithBacklog(...args) {
    if (typeof args[0] === 'number' && typeof args[1] === 'function')
      return listen.call(this, { port: args[0], backlog }, args[1]);
    if (typeof args[0] === 'number' && args.length === 1) return listen.call(this, { port: args[0], backlog });
    return listen.apply(this, args);
  };
}
