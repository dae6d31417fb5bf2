/**
 * Colour modes (Bootstrap 5.3's data-bs-theme): light, dark or as the system. Loaded as a
 * classic script in <head> before the style sheets (public/build/theme.js), so the page is
 * painted in its mode from the start without an inline script; it then selects the remembered
 * choice in the page's picker (views/macros/theme.njk) and remembers a new one.
 */
export type Mode = 'auto' | 'light' | 'dark';

export const THEME_KEY = 'chat-colour-mode';

export const isMode = (v: unknown): v is Mode => v === 'auto' || v === 'light' || v === 'dark';

/** The theme Bootstrap gets for a mode, given whether the system prefers dark. */
export function themeFor(mode: Mode, systemDark: boolean): 'light' | 'dark' {
  return mode === 'auto' ? (systemDark ? 'dark' : 'light') : mode;
}

function stored(): Mode {
  try {
    const v = window.localStorage.getItem(THEME_KEY);
    return isMode(v) ? v : 'auto';
  } catch {
    return 'auto';
  }
}

function remember(mode: Mode): void {
  try {
    if (mode === 'auto') window.localStorage.removeItem(THEME_KEY);
    else window.localStorage.setItem(THEME_KEY, mode);
  } catch {
    // Storage disabled: the choice lasts as long as the page.
  }
}

function start(): void {
  const dark = window.matchMedia('(prefers-color-scheme: dark)');
  let mode = stored();
  const apply = (): void => {
    const root = document.documentElement;
    root.dataset.bsTheme = themeFor(mode, dark.matches);
    root.dataset.colourMode = mode;
  };
  apply();
  dark.addEventListener('change', apply);
  // Another tab chose a mode.
  window.addEventListener('storage', (e) => {
    if (e.key !== THEME_KEY && e.key !== null) return;
    mode = stored();
    apply();
    for (const p of pickers()) p.value = mode;
  });
  const pickers = (): HTMLSelectElement[] => [...document.querySelectorAll<HTMLSelectElement>('[data-theme-picker]')];
  document.addEventListener('DOMContentLoaded', () => {
    for (const picker of pickers()) {
      picker.value = mode;
      picker.addEventListener('change', () => {
        if (!isMode(picker.value)) return;
        mode = picker.value;
        remember(mode);
        apply();
      });
    }
  });
}

if (typeof document !== 'undefined') start();
