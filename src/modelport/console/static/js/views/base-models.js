// The catalog: the bases this server imports for, their shape, and what weight types each accepts.

import { loadCatalog } from "../catalog.js";
import { errorNotice, recoveryActions } from "../components.js";
import { h, replaceChildren } from "../dom.js";
import { formatCount, formatParameters } from "../format.js";
import { href } from "../router.js";

const COLUMNS = ["Base model", "Family", "Layers", "Hidden size", "Parameters", "Vision", "Weight types", ""];

function row(base) {
  return h(
    "tr",
    { dataset: { base: base.id } },
    h("th", { scope: "row", "data-label": "Base model" }, h("code", {}, base.id), base.origin && base.origin !== "builtin" ? h("span", { class: "cell-note" }, base.origin) : null),
    h("td", { "data-label": "Family" }, base.model_type ?? "—"),
    h("td", { "data-label": "Layers" }, formatCount(base.num_hidden_layers)),
    h("td", { "data-label": "Hidden size" }, formatCount(base.hidden_size)),
    h("td", { "data-label": "Parameters", title: formatCount(base.parameter_count) }, formatParameters(base.parameter_count)),
    h("td", { "data-label": "Vision" }, base.vision ? `${base.vision.kind}, ${base.vision.depth} blocks` : "no"),
    h("td", { "data-label": "Weight types" }, (base.weight_types ?? []).join(", ")),
    h("td", { "data-label": "" }, h("a", { href: href("/new", { base_model: base.id }), "aria-label": `New import for ${base.id}` }, "New import")),
  );
}

export function renderBaseModelsView(container, { signal }) {
  const body = h("div", {}, h("p", { class: "muted", role: "status" }, "Loading the catalog…"));
  replaceChildren(
    container,
    h("div", { class: "page-head" }, h("h1", { id: "bases-title", tabindex: "-1" }, "Base models")),
    h("p", { class: "muted" }, "Imports are checked against these architectures: every tensor's name and shape, the config and the tokenizer."),
    body,
  );
  loadCatalog().then(
    (catalog) => {
      if (signal.aborted) return;
      replaceChildren(
        body,
        h(
          "div",
          { class: "table-scroll" },
          h(
            "table",
            { class: "table bases" },
            h("caption", { class: "visually-hidden" }, "Base models this server imports for"),
            h("thead", {}, h("tr", {}, COLUMNS.map((name) => h("th", { scope: "col" }, name || h("span", { class: "visually-hidden" }, "Actions"))))),
            h("tbody", {}, catalog.map(row)),
          ),
        ),
      );
    },
    (error) => {
      if (signal.aborted) return;
      replaceChildren(body, errorNotice(error, { actions: recoveryActions(error) }));
    },
  );
}
