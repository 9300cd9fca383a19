// The base-model catalog (GET /base_models), fetched once per page load: it changes only when the
// server restarts, and the jobs filter, the create form and the base-models page all read it.

import { api, BASE_MODELS } from "./api.js";

let loading = null;

/** The catalog's `list`; a failed fetch is not remembered, so the next view tries again. */
export function loadCatalog() {
  loading ??= api("GET", BASE_MODELS).then(
    (output) => output.list ?? [],
    (error) => {
      loading = null;
      throw error;
    },
  );
  return loading;
}

