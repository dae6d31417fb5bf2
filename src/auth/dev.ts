/**
 * AUTH=dev: the original's name-only sign-in. The same name (trimmed, Unicode-normalised) is
 * always the same user, because the uid is derived from it.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import express, { type Request } from 'express';
import type { Logger } from '../logger.js';
import { devLoginBody } from '../shared/schemas.js';
import type { ChatStore } from '../store/types.js';
import { SESSION_COOKIE } from './session.js';
import type { AuthProvider } from './types.js';

export function uidForName(name: string): string {
  return 'u' + createHash('sha256').update(name.normalize('NFC'), 'utf8').digest('hex').slice(0, 24);
}

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

function save(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
}

function destroy(req: Request): Promise<void> {
  return new Promise((resolve) => req.session.destroy(() => resolve()));
}

export function createDevAuth({ store, logger }: { store: ChatStore; logger: Logger }): AuthProvider {
  const router = express.Router();

  router.get('/login', (_req, res) => {
    res.render('login.njk', { mode: 'dev' });
  });

  router.post('/login', async (req, res) => {
    const parsed = devLoginBody.safeParse(req.body ?? {});
    if (!parsed.success) {
      const values = typeof req.body === 'object' && req.body !== null ? req.body : {};
      res.status(400).render('login.njk', {
        mode: 'dev',
        error: parsed.error.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`).join('; '),
        values,
      });
      return;
    }
    const name = parsed.data.name.normalize('NFC');
    const uid = uidForName(name);
    const existing = await store.getUser(uid);
    await store.saveUser({
      uid,
      name,
      course: parsed.data.course,
      role: parsed.data.role,
      picture: existing?.picture ?? '',
    });
    // A new session id at sign-in: a session id planted before sign-in is worthless after it.
    await regenerate(req);
    req.session.uid = uid;
    await save(req);
    logger.info({ uid }, 'signed in');
    res.redirect(303, '/chat');
  });

  const logout = async (req: Request, res: express.Response): Promise<void> => {
    await destroy(req);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/login');
  };
  router.post('/logout', logout);
  router.post('/sessionLogout', logout);

  return {
    router,
    async authenticate(req: IncomingMessage) {
      const uid = (req as Request).session?.uid;
      if (typeof uid !== 'string') return null;
      return store.getUser(uid);
    },
  };
}
