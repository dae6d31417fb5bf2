/**
 * Holds hot-path writes until the end of the event loop's current turn, so the messages of all
 * sockets read in one turn reach Redis in one write (ioredis auto-pipelining only batches the
 * commands of one tick, and every incoming WebSocket frame is a tick of its own). Costs no
 * added latency: the turn was going to end anyway.
 */
export function createTurnBatcher(): () => Promise<void> {
  let waiting: (() => void)[] = [];
  const release = (): void => {
    const now = waiting;
    waiting = [];
    for (const resolve of now) resolve();
  };
  return () =>
    new Promise<void>((resolve) => {
      if (waiting.push(resolve) === 1) setImmediate(release);
    });
}
