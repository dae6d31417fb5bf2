/**
 * Holds the page's state (./state/) and tells the views when it changed. Changes are functions
 * of the state; views render once per burst of changes (a microtask later), from the newest state.
 */
import type { ChatState } from './state/types.js';

export interface Store {
  readonly state: ChatState;
  update(change: (state: ChatState) => ChatState): void;
  /** Called after each burst of changes with the state now and the one last rendered. */
  subscribe(listener: (next: ChatState, prev: ChatState) => void): void;
}

export function createStore(initial: ChatState): Store {
  let state = initial;
  let rendered = initial;
  let scheduled = false;
  const listeners: ((next: ChatState, prev: ChatState) => void)[] = [];
  const flush = (): void => {
    scheduled = false;
    if (state === rendered) return;
    const prev = rendered;
    rendered = state;
    for (const l of listeners) l(state, prev);
  };
  return {
    get state() {
      return state;
    },
    update(change) {
      const next = change(state);
      if (next === state) return;
      state = next;
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(flush);
      }
    },
    subscribe(listener) {
      listeners.push(listener);
    },
  };
}
