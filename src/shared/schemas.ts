/**
 * Payload schemas for every client-to-server event. The server parses with these before doing
 * anything; a failed parse answers the contract's fixed refusal and changes nothing.
 * Message text is checked separately (after membership), because the contract orders the
 * refusals: invalid payload, then not a member, then invalid message.
 */
import { z } from 'zod';
import { LIMITS } from './limits.js';

/** Room ids are ours (`<uid>_<n>`, `Random_<n>`); anything else cannot name a room. */
export const roomIdSchema = z.string().min(1).max(200);

/** Redis-stream-style message ids, `<ms>-<seq>`. */
export const messageIdSchema = z.string().regex(/^\d{1,20}-\d{1,20}$/);

const plainObject = z.record(z.string(), z.unknown());

export const emptyPayload = plainObject;

export const roomPayload = z.looseObject({ room_id: roomIdSchema });

/** The contract's `client_id`: 8 to 64 of `A-Z a-z 0-9 _ -`, new for each message meant. */
export const clientIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);

// `msg` may be missing here: that is `invalid message`, answered after the membership check.
export const textPayload = z.looseObject({
  room_id: roomIdSchema,
  msg: z.unknown().optional(),
  client_id: clientIdSchema.optional(),
});

export const historyPayload = z.looseObject({
  room_id: roomIdSchema,
  before: messageIdSchema.optional(),
  after: messageIdSchema.optional(),
  // Not z.int(): it refuses integers past 2^53, which the contract counts as 100 like any larger value.
  limit: z
    .number()
    .positive()
    .refine((n) => Number.isInteger(n))
    .optional(),
});

export const readPayload = z.looseObject({ room_id: roomIdSchema, id: messageIdSchema });

export const catchUpPayload = z.looseObject({
  rooms: z
    .array(z.looseObject({ room_id: roomIdSchema, after: messageIdSchema }))
    .min(1)
    .max(LIMITS.catchUpMaxRooms),
});

/** Trimmed message text, or null when the contract calls it invalid. */
export function parseMessageText(msg: unknown): string | null {
  if (typeof msg !== 'string') return null;
  const text = msg.trim();
  if (text.length === 0 || text.length > LIMITS.msgMaxChars) return null;
  return text;
}

/** `GET /chat/get_users?q=&limit=`: a name prefix, and at most `limit` (default 50, at most 200). */
export const usersQuery = z.object({
  q: z.string({ error: 'q must be text' }).max(LIMITS.nameMaxChars, 'q is too long').optional(),
  limit: z.coerce
    .number({ error: 'limit must be a number' })
    .int('limit must be a whole number')
    .positive('limit must be at least 1')
    .optional()
    .transform((n) => Math.min(n ?? LIMITS.usersDefault, LIMITS.usersMax)),
});

export const directBody = z.object({ uid: z.string({ error: 'uid: a user id is required' }).min(1).max(200) });

export const createChatBody = z.object({
  room_name: z.string().trim().min(1).max(LIMITS.roomNameMaxChars),
  users: z.array(z.string().min(1).max(200)).max(LIMITS.createChatMaxUsers),
});

const courseField = z
  .string({ error: 'The course must be text.' })
  .trim()
  .max(LIMITS.courseMaxChars, `The course is too long (at most ${LIMITS.courseMaxChars} characters).`)
  .optional()
  .default('');

/** The name is checked by src/shared/names.ts (checkName) after this shape check. */
const nameField = z.string({ error: 'Enter a name.' });

export const devLoginBody = z.object({
  name: nameField,
  course: courseField,
  role: z.enum(['student', 'mentor'], { error: 'Choose student or mentor.' }).optional().default('student'),
});

export const passwordLoginBody = z.object({
  name: nameField,
  password: z.string({ error: 'Enter your password.' }).min(1, 'Enter your password.').max(LIMITS.passwordMaxChars),
});

export const signupBody = z.object({
  name: nameField,
  password: z
    .string({ error: 'Choose a password.' })
    .min(LIMITS.passwordMinChars, `The password needs at least ${LIMITS.passwordMinChars} characters.`)
    .max(LIMITS.passwordMaxChars, `The password may have at most ${LIMITS.passwordMaxChars} characters.`),
  course: courseField,
});
