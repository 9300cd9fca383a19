// The console's entry point: the header (navigation, the key's state), the routes, and the key
// gate: every page but the key page needs a key, and without one the key form stands in for it.

import { h, replaceChildren } from "./dom.js";
import { takeFlash } from "./flash.js";
import { startRouter } from "./router.js";
import { forgetKey, getKey } from "./session.js";
import { renderBaseModelsView } from "./views/base-models.js";
import { renderCreateView } from "./views/create.js";
import { renderJobView } from "./views/job.js";
import { renderJobsView } from "./views/jobs.js";
import { renderKeyView } from "./views/key.js";

const ROUTES = [
  { pattern: /^\/?$/, redirect: "#/jobs" },
  { pattern: /^\/jobs$/, nav: "jobs", render: renderJobsView },
  { pattern: /^\/jobs\/([^/]+)$/, nav: "jobs", render: renderJobView },
  { pattern: /^\/new$/, nav: "new", render: renderCreateView },
  { pattern: /^\/base-models$/, nav: "base-models", render: renderBaseModelsView },
  { pattern: /^\/key$/, render: null },
];

const main = document.getElementById("main");
const flashSlot = document.getElementById("flash");
const keyStatus = document.getElementById("key-status");
let rerender = () => {};

function showKeyStatus() {
  if (!getKey()) {
    replaceChildren(keyStatus, h("span", { class: "muted" }, "No key"));
    return;
  }
  replaceChildren(
    keyStatus,
    h("span", { class: "key-set" }, "Key set for this tab"),
    h("a", { href: "#/key", class: "button button--small" }, "Change"),
    h(
      "button",
      {
        type: "button",
        class: "button button--small",
        onclick: () => {
          forgetKey();
          showKeyStatus();
          rerender();
        },
      },
      "Forget key",
    ),
  );
}

function markNavigation(current) {
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function onRoute({ route, match, params, signal }, { first }) {
  if (route?.redirect) {
    window.location.replace(route.redirect);
    return;
  }
  markNavigation(route?.nav ?? null);
  const message = takeFlash();
  replaceChildren(flashSlot, message ? h("p", { class: "notice notice--success", role: "status" }, message) : null);
  if (!route) {
    replaceChildren(
      main,
      h("h1", { tabindex: "-1" }, "No such page"),
      h("p", {}, "The console has no page at this address. ", h("a", { href: "#/jobs" }, "Go to the jobs"), "."),
    );
  } else if (!route.render || !getKey()) {
    // The key page, or any page while there is no key: once a key is saved, show what was asked for
    // (the jobs, when the key page itself was asked for).
    renderKeyView(main, {
      signal,
      onSaved: () => {
        showKeyStatus();
        if (route.render) rerender();
        else window.location.hash = "#/jobs";
      },
    });
  } else {
    route.render(main, { match, params, signal, rerender });
  }
  // Focus the new page (not on first load, where the browser's own start is right) so that the next
  // Tab starts inside it and a screen reader reads it.
  if (!first) main.focus();
}

function start() {
  showKeyStatus();
  let first = true;
  rerender = startRouter(ROUTES, (context) => {
    onRoute(context, { first });
    first = false;
  });
  // The skip link cannot be a #fragment (the hash is the route), so it moves focus itself.
  document.getElementById("skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
}

start();
