// Follows prefers-color-scheme, and reads the colours charts need from the CSS variables of the current theme.
import { useEffect, useState } from 'react';

export interface ChartTheme {
  scheme: 'light' | 'dark';
  text: string;
  muted: string;
  grid: string;
  fleet: string;
}

function readTheme(): ChartTheme {
  const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback;
  return {
    scheme: dark ? 'dark' : 'light',
    text: v('--fg', dark ? '#e6e6e6' : '#1b1b1b'),
    muted: v('--fg-muted', '#888'),
    grid: v('--grid', dark ? '#333' : '#e4e4e4'),
    fleet: v('--fg', dark ? '#e6e6e6' : '#1b1b1b'),
  };
}

/** The chart theme, re-read when the system switches between light and dark. */
export function useChartTheme(): ChartTheme {
  const [theme, setTheme] = useState<ChartTheme>(readTheme);
  useEffect(() => {
    const query = window.matchMedia('(prefers-color-scheme: dark)');
    const onChange = (): void => setTheme(readTheme());
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);
  return theme;
}
