// Hash routes (#/jobs, #/jobs/<id>, #/new, #/base-models, #/key): the page is one document, links
// work with the keyboard and the back button, and nothing secret is ever part of the address.

/** "#/jobs?status=FAILED" -> {path: "/jobs", params: URLSearchParams("status=FAILED")} */
function parseHash(hash) {
  const raw = hash.startsWith("#") ? hash.slice(1) : hash;
  const [path, query = ""] = raw.split("?", 2);
  return { path: path || "/", params: new URLSearchParams(query) };
}

/** href("/jobs", {status: "FAILED", page: null}) -> "#/jobs?status=FAILED" (empty values dropped). */
export function href(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

export function navigate(path, params = {}) {
  window.location.hash = href(path, params);
}

/**
 * Call `onRoute({route, match, params, signal})` for the current hash and on every change; `routes`
 * is a list of {pattern: RegExp over the path, ...anything}. The previous route's `signal` is
 * aborted first, so its requests, timers and late renders stop.
 */
export function startRouter(routes, onRoute) {
  let controller = null;
  const run = () => {
    controller?.abort();
    controller = new AbortController();
    const { path, params } = parseHash(window.location.hash);
    for (const route of routes) {
      const match = route.pattern.exec(path);
      if (match) {
        onRoute({ route, match, params, signal: controller.signal });
        return;
      }
    }
    onRoute({ route: null, match: null, params, signal: controller.signal });
  };
  window.addEventListener("hashchange", run);
  run();
  return run; // re-render the current route (after a key change, say)
}
