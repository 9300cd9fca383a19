// The public HTTP API, called with the tab's key. Every failure becomes an ApiError carrying the
// server's envelope ({request_id, code, message}) or, when there is none, a code of our own
// (NoKey, NetworkError, BadResponse) with a sentence saying what to do.

import { getKey } from "./session.js";

export const IMPORT = "/api/v1/custom_models/import";
export const BASE_MODELS = "/api/v1/custom_models/base_models";

export class ApiError extends Error {
  constructor(status, code, message, requestId = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

/** The `output` of a successful call; throws ApiError otherwise. `key` defaults to the tab's key. */
export async function api(method, path, { query = null, body = undefined, signal = undefined, key = getKey() } = {}) {
  if (!key) throw new ApiError(0, "NoKey", "Paste an API key to use the console.");
  // fetch() refuses a header value outside Latin-1 before sending anything; say what is wrong
  // rather than report an unreachable server.
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new ApiError(0, "InvalidApiKey", "The API key has characters no key has (spaces or letters outside ASCII); paste it again.");
  }
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, String(value));
  }
  const headers = { Authorization: `Bearer ${key}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "NetworkError", "The modelport server could not be reached. Is `modelport serve` running?");
  }
  const requestId = response.headers.get("X-Request-Id");
  let payload;
  try {
    payload = await response.json();
  } catch {
    throw new ApiError(response.status, "BadResponse", `The server answered HTTP ${response.status} without a JSON body.`, requestId);
  }
  if (!response.ok || (payload && typeof payload.code === "string")) {
    throw new ApiError(
      response.status,
      payload?.code ?? "InternalError",
      payload?.message ?? `The server answered HTTP ${response.status}.`,
      payload?.request_id ?? requestId,
    );
  }
  return payload.output;
}

export const jobPath = (jobId) => `${IMPORT}/${encodeURIComponent(jobId)}`;

let openapi = null;

/**
 * Whether this server has `method path` (an OpenAPI path template), e.g. the cancel route, which
 * newer servers add: the console offers what the server can do. The document needs no key.
 */
export async function serverHas(method, template) {
  openapi ??= fetch("/openapi.json", { credentials: "omit" })
    .then((response) => (response.ok ? response.json() : {}))
    .catch(() => ({}));
  const document = await openapi;
  return Boolean(document?.paths?.[template]?.[method.toLowerCase()]);
}
