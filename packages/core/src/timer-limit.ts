/** The longest delay a Node timer keeps (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a delay a Node timer keeps: a longer wait is cut to the longest one (re-armed later). */
export function timerDelay(ms: number): number {
  return Math.min(ms, MAX_TIMER_MS);
}
