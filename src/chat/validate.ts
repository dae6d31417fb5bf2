/** Boundary checks shared by the handlers; each failure is the contract's fixed refusal. */
import type { z } from 'zod';
import { ERRORS } from '../shared/limits.js';
import type { ChatStore } from '../store/types.js';
import { Refusal } from './handler.js';

export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown): z.infer<S> {
  // Only plain objects: arrays, null, strings and binary attachments are not payloads.
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || Buffer.isBuffer(payload)) {
    throw new Refusal(ERRORS.invalidPayload);
  }
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw new Refusal(ERRORS.invalidPayload);
  return parsed.data;
}

export async function requireMember(store: ChatStore, uid: string, roomId: string): Promise<void> {
  if (!(await store.isMember(uid, roomId))) throw new Refusal(ERRORS.notMember);
}
