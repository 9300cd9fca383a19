// Running a batch of requests a few at a time, so a page of jobs does not open twenty connections.

/** Call `work(item)` for every item with at most `limit` in flight; failures are the callee's to handle. */
export async function eachLimited(items, limit, work) {
  const queue = [...items];
  const runners = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length) await work(queue.shift());
  });
  await Promise.all(runners);
}
