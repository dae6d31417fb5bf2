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

/** The handshake refusals that mean "not now": the page tries again by itself. */
export const RETRYABLE_REFUSALS: readonly string[] = ['too many connections', 'service unavailable'];
