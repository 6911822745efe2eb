/**
 * The environment a Tracklane child process starts with, as `npm start` and the `tracklane` launcher give
 * it: libuv's thread pool sized to 16 (unless set), because it is sized once, when the process starts,
 * before any of its code runs. See the README's "Thread pool" note.
 */
export function tracklaneEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { UV_THREADPOOL_SIZE: '16', ...process.env, ...extra };
}
