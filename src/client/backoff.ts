/**
 * Pauses between attempts to reconnect after the server refused the handshake for now (`too many
 * connections`, `service unavailable`: socket.io-client does not retry those by itself): doubling
 * from FIRST_MS up to at most MAX_MS, each a random point in its upper half ("equal jitter"), so
 * the tabs a restart turned away do not all come back at the same instant.
 */
export const FIRST_MS = 1_000;
export const MAX_MS = 30_000;

/** The pause before attempt `attempt` (0 for the first retry); `random` in [0, 1). */
export function backoffDelay(attempt: number, random: number = Math.random()): number {
  const ceiling = Math.min(MAX_MS, FIRST_MS * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/**
 * socket.io-client's own reconnection after a lost connection (a node gone, a network cut): each
 * pause a random point between 0 and a ceiling that doubles from 1 s to 5 s ("full jitter":
 * `reconnectionDelay` × 2^attempt ± 100 %). Socket.IO's default, 1 s ± 50 %, kept every tab away
 * for at least half a second, so after a node's crash the node taking over sat idle that long
 * before the first of its new clients came: with full jitter the arrivals are as spread (over a
 * second), half a second sooner. Reconnect storm of 5,000 clients (bench/README.md, session 11),
 * 2 × 3 storms each, interleaved: the last client caught up after 3,438 / 3,602 ms instead of
 * 3,874 / 4,184 ms (medians), with no more refusals or transport errors.
 */
export const RECONNECT = { reconnectionDelay: 500, randomizationFactor: 1, reconnectionDelayMax: 5_000 } as const;

/** The handshake refusals that mean "not now": the page tries again by itself. */
export const RETRYABLE_REFUSALS: readonly string[] = ['too many connections', 'service unavailable'];
