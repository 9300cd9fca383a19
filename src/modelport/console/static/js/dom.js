// Building DOM nodes. Everything shown comes from uploads (file and tensor names, config values), so
// text is only ever set as text: this module has no way to parse a string as markup.

/**
 * h("a", {href: "#/jobs", class: "link"}, "Jobs", child) -> <a>.
 * Attributes: `class`, `on<event>` (a function), booleans (true sets, false/null/undefined omits),
 * `dataset` (an object); anything else via setAttribute. Children: nodes, strings, numbers, arrays,
 * and null/undefined/false (skipped).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function replaceChildren(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** An id unique in the document, for aria-describedby / aria-labelledby links: "finding-7". */
let counter = 0;
export function uniqueId(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}
