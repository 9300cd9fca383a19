// Polling that is kind to the server: one request round at a time (the next starts `interval` ms
// after the last one ended), paused while the tab is hidden, and over when the task says so or the
// view that started it goes away.

/**
 * Run `task` every `interval` ms (first run after one interval) until it resolves to false or
 * `signal` aborts. A task that throws is tried again on the next round.
 */
export function repeat(task, interval, signal) {
  let timer = null;
  let busy = false;
  let over = false;

  const stop = () => {
    over = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisibility);
  };
  const schedule = () => {
    if (!over && !document.hidden) timer = setTimeout(tick, interval);
  };
  const tick = async () => {
    timer = null;
    if (over || document.hidden) return;
    busy = true;
    let again = true;
    try {
      again = (await task()) !== false;
    } catch {
      again = true;
    } finally {
      busy = false;
    }
    if (again && !signal.aborted) schedule();
    else stop();
  };
  function onVisibility() {
    if (document.hidden) {
      clearTimeout(timer);
      timer = null;
    } else if (!timer && !busy) {
      tick(); // back in view: refresh at once rather than after another interval
    }
  }

  document.addEventListener("visibilitychange", onVisibility);
  signal.addEventListener("abort", stop, { once: true });
  schedule();
}
