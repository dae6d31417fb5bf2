/**
 * The message box's rules, as plain data: how long a draft is (as the server counts it: after
 * trimming), when the counter shows (near the limit), and the message that says why a draft
 * cannot be sent. Nothing is ever cut: a draft past the limit stays whole and waits for the
 * reader to shorten it.
 */
import { LIMITS } from '../shared/limits.js';

/** The counter shows from this many characters on. */
export const COUNT_FROM = LIMITS.msgMaxChars - 200;

export interface DraftCheck {
  /** Characters as the server counts them. */
  length: number;
  /** "1,850 / 2,000", or '' while far from the limit. */
  counter: string;
  /** Why it cannot be sent ('' when it can, or when it is empty). */
  error: string;
  sendable: boolean;
}

const n = (x: number): string => x.toLocaleString('en-US');

export function checkDraft(text: string, max: number = LIMITS.msgMaxChars): DraftCheck {
  const length = text.trim().length;
  const over = length - max;
  return {
    length,
    counter: length >= max - 200 ? `${n(length)} / ${n(max)}` : '',
    error:
      over > 0
        ? `Too long to send: ${n(length)} characters, the limit is ${n(max)}. Remove ${n(over)} ${over === 1 ? 'character' : 'characters'}.`
        : '',
    sendable: length > 0 && over <= 0,
  };
}
