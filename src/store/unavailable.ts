/**
 * Errors that mean "the store did not answer" (Redis down, a timeout, a dropped connection) or
 * could not store anything (`OOM`: at `maxmemory` with `noeviction`, docs/deploy.md), as opposed
 * to our own bugs (a failover's redirections that ioredis gave up following included): the socket answer for them is `service unavailable` (outcome unknown)
 * and the HTTP answer 503, never 500.
 */
const UNAVAILABLE =
  /^OOM |timed out|Connection is closed|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|writeable|offline queue|CLUSTERDOWN|TRYAGAIN|LOADING|MOVED|ASK |READONLY|MASTERDOWN|Cluster redirections|slots cache|startup nodes|Cluster isn't ready|outcome unknown/i;

export function isStoreUnavailable(err: unknown): boolean {
  return err instanceof Error && UNAVAILABLE.test(err.message);
}
