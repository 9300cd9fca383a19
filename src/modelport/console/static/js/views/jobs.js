// The workspace's jobs, newest first, paged as the list route pages, filtered by status and base
// model. List items carry neither the base model nor the weight type (the contract's job object
// has no such fields there), so each row's report is read once for them. While a row is PENDING or
// RUNNING the page is read again every few seconds for statuses, and RUNNING rows' reports for
// their phase and bytes copied.

import { api, IMPORT, jobPath } from "../api.js";
import { loadCatalog } from "../catalog.js";
import { errorNotice, isFinished, progressView, recoveryActions, statusBadge } from "../components.js";
import { h, replaceChildren } from "../dom.js";
import { formatTime } from "../format.js";
import { repeat } from "../poller.js";
import { href, navigate } from "../router.js";
import { eachLimited } from "../tasks.js";

const STATUSES = ["PENDING", "RUNNING", "SUCCESSED", "FAILED"];
const PAGE_SIZES = [10, 20, 50, 100];
const DEFAULT_PAGE_SIZE = 20;
const POLL_MS = 2000;
const SAMPLE_COMMAND = "modelport sample lora --base-model qwen3-8b --out modelport-data/buckets/my-bucket/models/my-lora/";

function readParams(params) {
  const number = (name, fallback, max) => {
    const value = Number.parseInt(params.get(name) ?? "", 10);
    return Number.isInteger(value) && value >= 1 && value <= max ? value : fallback;
  };
  return {
    status: STATUSES.includes(params.get("status")) ? params.get("status") : "",
    base_model: params.get("base_model") ?? "",
    page: number("page", 1, Number.MAX_SAFE_INTEGER),
    size: number("size", DEFAULT_PAGE_SIZE, 100),
  };
}

function select(id, label, options, value, onChange) {
  return h(
    "div",
    { class: "field field--inline" },
    h("label", { for: id }, label),
    h(
      "select",
      { id, class: "input", onchange: (event) => onChange(event.target.value) },
      options.map(([optionValue, text]) => h("option", { value: optionValue, selected: optionValue === value }, text)),
    ),
  );
}

function filtersForm(filters, catalog) {
  const go = (change) => {
    const size = Number(change.size ?? filters.size);
    navigate("/jobs", { ...filters, ...change, page: null, size: size === DEFAULT_PAGE_SIZE ? null : size });
  };
  const bases = catalog.map((base) => base.id);
  if (filters.base_model && !bases.includes(filters.base_model)) bases.push(filters.base_model);
  const sizes = PAGE_SIZES.includes(filters.size) ? PAGE_SIZES : [...PAGE_SIZES, filters.size].sort((a, b) => a - b);
  return h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter jobs", onsubmit: (event) => event.preventDefault() },
    select("filter-status", "Status", [["", "Any status"], ...STATUSES.map((s) => [s, s])], filters.status, (status) => go({ status })),
    select("filter-base", "Base model", [["", "Any base model"], ...bases.map((id) => [id, id])], filters.base_model, (base_model) => go({ base_model })),
    select("filter-size", "Per page", sizes.map((size) => [String(size), String(size)]), String(filters.size), (size) => go({ size })),
  );
}

function emptyState(filters, total) {
  const filtered = filters.status || filters.base_model;
  if (total > 0) {
    return h(
      "div",
      { class: "notice", role: "status" },
      h("h2", { class: "notice-title" }, `Page ${filters.page} is past the last page`),
      h("p", {}, h("a", { href: href("/jobs", { ...filters, page: null }) }, "Go to the first page")),
    );
  }
  if (filtered) {
    return h(
      "div",
      { class: "notice", role: "status" },
      h("h2", { class: "notice-title" }, "No jobs match these filters"),
      h("p", {}, h("a", { href: href("/jobs", { size: filters.size === DEFAULT_PAGE_SIZE ? null : filters.size }) }, "Show all jobs")),
    );
  }
  return h(
    "div",
    { class: "notice empty", role: "status" },
    h("h2", { class: "notice-title" }, "No import jobs yet"),
    h("p", {}, "An import job checks a model folder in a bucket against its base model and copies it into the model store. To create one:"),
    h(
      "ol",
      {},
      h(
        "li",
        {},
        "Put a LoRA adapter or full weights in a bucket folder. To try it out, write a sample into the embedded bucket ",
        h("code", {}, "my-bucket"),
        ":",
        h("pre", { tabindex: "0" }, h("code", {}, SAMPLE_COMMAND)),
      ),
      h("li", {}, "Open ", h("a", { href: "#/new" }, "New import"), ", validate the folder, then import it."),
    ),
  );
}

function statusCell(job, progress) {
  const name = job.display_name || job.model_name;
  return [
    statusBadge(job.status),
    job.status === "RUNNING" && progressView(progress, `Progress of ${name}`),
    job.status === "PENDING" && h("span", { class: "cell-note" }, "queued"),
    job.status === "FAILED" && job.error_code && h("span", { class: "cell-note error-line" }, job.error_code),
  ];
}

function jobRow(job) {
  const base = h("td", { "data-label": "Base model", class: "col-base" }, h("span", { class: "muted" }, "…"));
  const weight = h("td", { "data-label": "Weight type", class: "col-weight" }, h("span", { class: "muted" }, "…"));
  const status = h("td", { "data-label": "Status", class: "col-status" }, statusCell(job, null));
  const tr = h(
    "tr",
    { dataset: { jobId: job.job_id, status: job.status } },
    h(
      "th",
      { scope: "row", "data-label": "Job", class: "col-job" },
      h("a", { href: `#/jobs/${encodeURIComponent(job.job_id)}`, class: "job-link" }, job.display_name || job.model_name),
      h("code", { class: "model-name" }, job.model_name),
    ),
    base,
    weight,
    status,
    h("td", { "data-label": "Created", class: "col-created" }, h("time", { datetime: job.gmt_create }, formatTime(job.gmt_create))),
  );
  const row = { job, tr };
  row.update = (report) => {
    const current = { ...job, ...(report.job ?? {}) };
    row.job = current;
    tr.dataset.status = current.status;
    replaceChildren(base, report.base_model ?? "—");
    replaceChildren(weight, report.weight_type ?? current.weight_type ?? "—");
    replaceChildren(status, statusCell(current, report.progress));
  };
  /** A fresher list item: only a changed status is redrawn, so a RUNNING row keeps its bar until its report is read. */
  row.relist = (listed) => {
    if (listed.status === row.job.status) return;
    row.job = { ...row.job, ...listed };
    tr.dataset.status = listed.status;
    replaceChildren(status, statusCell(row.job, null));
  };
  row.gone = () => {
    row.job = { ...row.job, status: "DELETED" };
    replaceChildren(status, h("span", { class: "cell-note" }, "This job no longer exists."));
  };
  return row;
}

function table(rows) {
  const columns = ["Job", "Base model", "Weight type", "Status", "Created"];
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "table jobs" },
      h("caption", { class: "visually-hidden" }, "Import jobs, newest first"),
      h("thead", {}, h("tr", {}, columns.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, rows.map((row) => row.tr)),
    ),
  );
}

function pager(filters, page) {
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  const link = (number, text, rel) => h("a", { href: href("/jobs", { ...filters, page: number }), rel, class: "button" }, text);
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    filters.page > 1 ? link(filters.page - 1, "← Previous", "prev") : h("span", { class: "button", "aria-disabled": "true" }, "← Previous"),
    h("span", { class: "pager-position" }, `Page ${filters.page} of ${pages} · ${page.total} job${page.total === 1 ? "" : "s"}`),
    filters.page < pages ? link(filters.page + 1, "Next →", "next") : h("span", { class: "button", "aria-disabled": "true" }, "Next →"),
  );
}

async function loadRow(row, signal) {
  try {
    row.update(await api("GET", `${jobPath(row.job.job_id)}/report`, { signal }));
  } catch (error) {
    if (error.code === "NotFound") row.gone();
  }
}

export function renderJobsView(container, { params, signal, rerender }) {
  const filters = readParams(params);
  const body = h("div", { class: "jobs-body", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading jobs…"));
  const filtersSlot = h("div", { class: "filters-slot" });
  replaceChildren(
    container,
    h(
      "div",
      { class: "page-head" },
      h("h1", { id: "jobs-title", tabindex: "-1" }, "Import jobs"),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "button", onclick: rerender }, "Refresh"),
        h("a", { href: "#/new", class: "button button--primary" }, "New import"),
      ),
    ),
    filtersSlot,
    body,
  );

  loadCatalog().then(
    (catalog) => !signal.aborted && replaceChildren(filtersSlot, filtersForm(filters, catalog)),
    () => !signal.aborted && replaceChildren(filtersSlot, filtersForm(filters, [])),
  );

  const query = { page_no: filters.page, page_size: filters.size, status: filters.status, base_model: filters.base_model };
  (async () => {
    let page;
    try {
      page = await api("GET", IMPORT, { query, signal });
    } catch (error) {
      if (signal.aborted) return;
      body.removeAttribute("aria-busy");
      replaceChildren(body, errorNotice(error, { actions: recoveryActions(error, { retry: rerender }) }));
      return;
    }
    if (signal.aborted) return;
    body.removeAttribute("aria-busy");
    if (!page.list.length) {
      replaceChildren(body, emptyState(filters, page.total));
      return;
    }
    const rows = page.list.map(jobRow);
    replaceChildren(body, table(rows), pager(filters, page));
    await eachLimited(rows, 4, (row) => loadRow(row, signal));
    const unfinished = () => rows.filter((row) => !isFinished(row.job.status) && row.job.status !== "DELETED");
    if (!unfinished().length || signal.aborted) return;
    // Each round: the page itself once (statuses, errors), then the report of each RUNNING row (its
    // phase and bytes) and of any row the page no longer holds (deleted, or pushed to the next page).
    repeat(
      async () => {
        const latest = await api("GET", IMPORT, { query, signal });
        const listed = new Map(latest.list.map((job) => [job.job_id, job]));
        const reread = new Set();
        for (const row of unfinished()) {
          const fresh = listed.get(row.job.job_id);
          if (fresh) row.relist(fresh);
          if (!fresh || row.job.status === "RUNNING") reread.add(row);
        }
        await eachLimited([...reread], 4, (row) => loadRow(row, signal));
        return unfinished().length > 0;
      },
      POLL_MS,
      signal,
    );
  })();
}
