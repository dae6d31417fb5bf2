/**
 * AUTH=dev: the original's name-only sign-in, for trying the chat: anyone can sign in as anyone
 * (the page says so, and production refuses it without ALLOW_DEV_AUTH). The same name (after
 * the name rules of src/shared/names.ts) is always the same user: the uid is derived from it.
 */
import { createHash } from 'node:crypto';
import express, { type Request } from 'express';
import type { Logger } from '../logger.js';
import { checkName } from '../shared/names.js';
import { devLoginBody } from '../shared/schemas.js';
import type { ChatStore } from '../store/types.js';
import { endSession, formValues, sessionUser, startSession, type SignInHooks } from './sign-in.js';
import type { AuthProvider } from './types.js';

export function uidForName(name: string): string {
  return 'u' + createHash('sha256').update(name.normalize('NFC'), 'utf8').digest('hex').slice(0, 24);
}

const FIELDS = ['name', 'course', 'role'] as const;

export function createDevAuth({
  store,
  logger,
  hooks,
}: {
  store: ChatStore;
  logger: Logger;
  hooks: SignInHooks;
}): AuthProvider {
  const router = express.Router();

  router.get('/login', (_req, res) => {
    res.render('login.njk', { mode: 'dev' });
  });

  router.post('/login', async (req, res) => {
    const values = formValues(req.body, FIELDS);
    const parsed = devLoginBody.safeParse(req.body ?? {});
    const name = checkName(parsed.success ? parsed.data.name : (req.body as { name?: unknown } | undefined)?.name);
    if (!parsed.success || !name.ok) {
      const error = !name.ok ? name.reason : (parsed.error?.issues[0]?.message ?? 'Check the form.');
      res.status(400).render('login.njk', { mode: 'dev', error, values });
      return;
    }
    const uid = uidForName(name.name);
    const existing = await store.getUser(uid);
    await store.saveUser({
      uid,
      name: name.name,
      course: parsed.data.course,
      role: parsed.data.role,
      picture: existing?.picture ?? '',
    });
    logger.info({ uid }, 'signed in');
    await startSession(req, res, uid, hooks);
  });

  const logout = (req: Request, res: express.Response): Promise<void> => endSession(req, res);
  router.post('/logout', logout);
  router.post('/sessionLogout', logout);

  return { router, authenticate: sessionUser(store) };
}
