// Creating an import: the create body as a form. Validate runs the dry run and shows its report
// below; Import creates the job and opens it. The form checks nothing itself: every rule is the
// server's, and its sentence is shown next to the field it names.

import { api, IMPORT } from "../api.js";
import { loadCatalog } from "../catalog.js";
import { announce, errorNotice, recoveryActions } from "../components.js";
import { h, replaceChildren } from "../dom.js";
import { fieldOf } from "../fields.js";
import { formatBytes } from "../format.js";
import { failurePanel, reportSections } from "../report.js";
import { navigate } from "../router.js";

const WEIGHT_TYPES = [
  ["lora", "LoRA adapter", "adapter_config.json and adapter_model.safetensors"],
  ["full", "Full weights", "config.json and model.safetensors (or shards with their index)"],
];

/** A labelled control with its hint and a slot for the server's error; `control` gets the ids. */
function field(name, label, hint, control, { optional = false } = {}) {
  const hintId = `${name}-hint`;
  const errorId = `${name}-error`;
  control.id = `field-${name}`;
  control.name = name;
  control.setAttribute("aria-describedby", hintId);
  const error = h("p", { id: errorId, class: "field-error", hidden: true });
  const wrapper = h(
    "div",
    { class: "field", dataset: { field: name } },
    h("label", { for: control.id }, label, optional ? h("span", { class: "optional" }, " (optional)") : null),
    h("p", { id: hintId, class: "hint" }, hint),
    control,
    error,
  );
  return { wrapper, control, error, hintId, errorId };
}

function weightTypeField(selected) {
  const hintId = "weight_type-hint";
  const errorId = "weight_type-error";
  const radios = WEIGHT_TYPES.map(([value]) =>
    h("input", { type: "radio", name: "weight_type", id: `field-weight_type-${value}`, value, checked: value === selected }),
  );
  const error = h("p", { id: errorId, class: "field-error", hidden: true });
  const fieldset = h(
    "fieldset",
    { class: "field", dataset: { field: "weight_type" }, "aria-describedby": hintId },
    h("legend", {}, "Weight type"),
    h("p", { id: hintId, class: "hint" }, "What the folder holds."),
    h(
      "div",
      { class: "choices" },
      WEIGHT_TYPES.map(([value, label, detail], index) =>
        h("label", { class: "choice", for: `field-weight_type-${value}` }, radios[index], h("span", {}, h("strong", {}, label), h("span", { class: "hint" }, detail))),
      ),
    ),
    error,
  );
  return { wrapper: fieldset, control: fieldset, radios, error, hintId, errorId };
}

function baseModelControl(catalog, selected) {
  // No base is preselected: checking an upload against the wrong base is the mistake to avoid.
  return h(
    "select",
    { class: "input" },
    h("option", { value: "", selected: !selected }, "Choose the base model…"),
    catalog.map((base) =>
      h("option", { value: base.id, selected: base.id === selected }, `${base.id} (${base.model_type}, ${base.num_hidden_layers} layers)`),
    ),
  );
}

export function renderCreateView(container, { params, signal, rerender }) {
  replaceChildren(container, h("p", { class: "muted", role: "status" }, "Loading the base models…"));
  loadCatalog().then(
    (catalog) => !signal.aborted && renderForm(container, { params, signal, catalog }),
    (error) =>
      !signal.aborted &&
      replaceChildren(
        container,
        h("h1", { id: "create-title", tabindex: "-1" }, "New import"),
        errorNotice(error, { title: "The base models could not be loaded", actions: recoveryActions(error, { retry: rerender }) }),
      ),
  );
}

function renderForm(container, { params, signal, catalog }) {
  const preset = params.get("base_model") ?? "";
  const fields = {
    model_name: field("model_name", "Base model", "The model the upload was trained from; it decides every shape that is checked.", baseModelControl(catalog, preset)),
    weight_type: weightTypeField(params.get("weight_type") === "full" ? "full" : "lora"),
    bucket_name: field(
      "bucket_name",
      "Bucket",
      "Its name (storage_info.bucket_name). Without a storage config, bucket NAME is the folder modelport-data/buckets/NAME/ on the server.",
      h("input", { type: "text", class: "input", autocomplete: "off", spellcheck: "false", value: params.get("bucket_name") ?? "" }),
    ),
    object_key: field(
      "object_key",
      "Object key",
      "The folder inside the bucket that holds the model files, ending with /, e.g. models/my-lora/.",
      h("input", { type: "text", class: "input", autocomplete: "off", spellcheck: "false", value: params.get("object_key") ?? "" }),
    ),
    display_name: field(
      "display_name",
      "Display name",
      "1 to 50 characters, shown in lists. Default: the base model id.",
      h("input", { type: "text", class: "input", autocomplete: "off" }),
      { optional: true },
    ),
  };
  const formNotice = h("div", { class: "form-notice" });
  const result = h("div", { class: "dry-run", "aria-live": "polite" });
  const buttons = [
    h("button", { type: "submit", class: "button", value: "validate" }, "Validate (dry run)"),
    h("button", { type: "submit", class: "button button--primary", value: "import" }, "Import"),
  ];

  const clearErrors = () => {
    for (const entry of Object.values(fields)) {
      entry.error.hidden = true;
      entry.error.textContent = "";
      entry.control.removeAttribute("aria-invalid");
      entry.control.setAttribute("aria-describedby", entry.hintId);
    }
    replaceChildren(formNotice);
  };

  const showError = (error) => {
    const name = fieldOf(error);
    const entry = name ? fields[name] : null;
    if (!entry) {
      replaceChildren(formNotice, errorNotice(error, { actions: recoveryActions(error) }));
      formNotice.querySelector(".notice")?.setAttribute("tabindex", "-1");
      formNotice.querySelector(".notice")?.focus();
      return;
    }
    entry.error.textContent = error.message;
    entry.error.hidden = false;
    entry.control.setAttribute("aria-invalid", "true");
    entry.control.setAttribute("aria-describedby", `${entry.errorId} ${entry.hintId}`);
    (entry.radios?.find((radio) => radio.checked) ?? entry.radios?.[0] ?? entry.control).focus();
    announce(error.message);
  };

  const body = () => {
    const displayName = fields.display_name.control.value;
    return {
      model_name: fields.model_name.control.value,
      source: "oss",
      weight_type: fields.weight_type.radios.find((radio) => radio.checked)?.value ?? "",
      storage_info: { bucket_name: fields.bucket_name.control.value, object_key: fields.object_key.control.value },
      ...(displayName ? { display_name: displayName } : {}),
    };
  };

  const onSubmit = async (event) => {
    event.preventDefault();
    const action = event.submitter?.value ?? "validate";
    clearErrors();
    replaceChildren(result);
    for (const button of buttons) button.disabled = true;
    try {
      if (action === "import") {
        const job = await api("POST", IMPORT, { body: body(), signal });
        navigate(`/jobs/${encodeURIComponent(job.job_id)}`);
        return;
      }
      result.setAttribute("aria-busy", "true");
      replaceChildren(result, h("p", { class: "muted" }, "Checking every file and tensor header…"));
      const report = await api("POST", `${IMPORT}/validate`, { body: body(), signal });
      if (!signal.aborted) showReport(result, report);
    } catch (error) {
      if (signal.aborted) return;
      replaceChildren(result);
      showError(error);
    } finally {
      result.removeAttribute("aria-busy");
      for (const button of buttons) button.disabled = false;
    }
  };

  replaceChildren(
    container,
    h("div", { class: "page-head" }, h("h1", { id: "create-title", tabindex: "-1" }, "New import")),
    h(
      "form",
      { class: "form create-form", onsubmit: onSubmit, novalidate: true, "aria-labelledby": "create-title" },
      h("p", { class: "muted" }, "Validate checks the folder as an import would (names, headers, shapes, configs) without creating a job or copying a byte. Import creates the job."),
      Object.values(fields).map((entry) => entry.wrapper),
      formNotice,
      h("div", { class: "actions" }, buttons),
    ),
    result,
  );
}

function showReport(container, report) {
  const passed = report.verdict === "passed";
  const where = report.source?.location ?? "the folder";
  const accepted = (report.files ?? []).filter((file) => file.status === "accepted").length;
  const opening = passed
    ? h(
        "section",
        { class: "success", "aria-labelledby": "verdict-title" },
        h("h2", { id: "verdict-title", tabindex: "-1" }, "Validation passed"),
        h("p", {}, `Nothing is wrong with ${where}: importing it would copy ${accepted} file${accepted === 1 ? "" : "s"} (${formatBytes(report.counts?.bytes_to_copy)}).`),
      )
    : failurePanel(report, { title: `Validation failed: ${where}`, next: "validate again" });
  replaceChildren(container, opening, reportSections(report));
  const heading = opening.querySelector("h2");
  heading.setAttribute("tabindex", "-1");
  heading.focus();
}
