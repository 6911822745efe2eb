import { useEffect, useState } from 'preact/hooks';

export type Theme = 'light' | 'dark';
const KEY = 'tracklane.theme';
const listeners = new Set<(t: Theme) => void>();
const media = matchMedia('(prefers-color-scheme: dark)');

/** The theme in effect: the user's choice if any, else the system's. */
export function currentTheme(): Theme {
  const chosen = document.documentElement.dataset.theme;
  if (chosen === 'dark' || chosen === 'light') return chosen;
  return media.matches ? 'dark' : 'light';
}

export function toggleTheme(): void {
  const next: Theme = currentTheme() === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // Not persisted; still applied for this page.
  }
  for (const l of listeners) l(next);
}

export function useTheme(): Theme {
  const [theme, setTheme] = useState(currentTheme);
  useEffect(() => {
    const onSystem = () => setTheme(currentTheme());
    listeners.add(setTheme);
    media.addEventListener('change', onSystem);
    return () => {
      listeners.delete(setTheme);
      media.removeEventListener('change', onSystem);
    };
  }, []);
  return theme;
}
