/**
 * `npm run user -- mentor NAME` (or `student NAME`): an operator's change of a user's role —
 * under AUTH=password and Firebase nobody can make themselves a mentor. NAME is an account's name
 * (AUTH=password, compared as sign-in compares names), a dev sign-in name, or a uid (Firebase).
 * Runs against the deployment's store (REDIS_URL or REDIS_CLUSTER_NODES, REDIS_PREFIX).
 */
import { uidForName } from '../auth/dev.js';
import { loadConfigOrExit } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import { checkName, nameKey } from '../shared/names.js';
import type { Role, UserProfile } from '../shared/types.js';
import { createStore } from '../store/index.js';
import { createRedisClient, whenReady } from '../store/redis-client.js';
import type { ChatStore } from '../store/types.js';

const USAGE = 'usage: npm run user -- mentor|student <name or uid>';

async function findUser(store: ChatStore, who: string): Promise<UserProfile | null> {
  const name = checkName(who);
  if (name.ok) {
    const account = await store.findAccount(nameKey(name.name));
    if (account) return store.getUser(account.uid);
    const dev = await store.getUser(uidForName(name.name));
    if (dev) return dev;
  }
  return store.getUser(who);
}

async function main(): Promise<number> {
  const [role, ...rest] = process.argv.slice(2);
  const who = rest.join(' ').trim();
  if ((role !== 'mentor' && role !== 'student') || who === '') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfigOrExit();
  if (config.redis === null) {
    process.stderr.write('REDIS_URL is not set: the in-process store lives inside a running server only\n');
    return 2;
  }
  const logger = createLogger('warn');
  const redis = createRedisClient(config.redis, 'chat-cli', logger, { commandTimeoutMs: config.storeTimeoutMs });
  try {
    await whenReady(redis);
    const store = createStore(config, logger, redis);
    const user = await findUser(store, who);
    if (!user) {
      process.stderr.write(`no user named or with uid "${who}"\n`);
      return 1;
    }
    await store.saveUser({ ...user, role: role as Role });
    process.stdout.write(`${user.name} (${user.uid}) is now a ${role}\n`);
    return 0;
  } finally {
    await redis.quit();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`user: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
