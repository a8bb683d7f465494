// The mapping playground's page: sends the two editable panes to /api/map as the user types
// (debounced), and renders the report: per resource, each field with its expression and what
// went wrong with it, the items the selector or the identifier dropped, and the entities with
// every field's value. Text is always set through textContent (never parsed as HTML).
"use strict";

const DEBOUNCE_MS = 250;
const SHOWN_ENTITIES = 50;

const $ = (id) => document.getElementById(id);
const items = $("items");
const config = $("config");
const kind = $("kind");
const result = $("result");
const status = $("status");
let setup = { examples: [] };

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function say(text, isError) {
  status.textContent = text;
  status.classList.toggle("error", !!isError);
}

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch (_) { /* not JSON */ }
  if (!response.ok) throw new Error(parsed && parsed.error ? parsed.error : `${response.status} ${text}`);
  return { text, json: parsed };
}

// ----- mapping -----

let timer = null;
let sequence = 0;

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(remap, DEBOUNCE_MS);
}

async function remap() {
  clearTimeout(timer);
  const mine = ++sequence;
  result.setAttribute("aria-busy", "true");
  let report;
  try {
    report = (await call("POST", "/api/map", {
      config: config.value, items: items.value, kind: kind.value || null,
    })).json;
  } catch (error) {
    if (mine === sequence) say(`Mapping failed: ${error.message}`, true);
    return;
  } finally {
    if (mine === sequence) result.setAttribute("aria-busy", "false");
  }
  if (mine !== sequence) return;
  updateKinds(report);
  render(report);
}

function updateKinds(report) {
  const wanted = report.kinds.slice();
  for (const k of setup.examples) if (!wanted.includes(k)) wanted.push(k);
  const current = Array.from(kind.options).map((o) => o.value);
  if (wanted.join("\n") !== current.join("\n")) {
    const selected = kind.value || report.kind;
    kind.replaceChildren(...wanted.map((k) => h("option", { value: k }, k)));
    if (wanted.includes(selected)) kind.value = selected;
  }
  if (!kind.value && report.kind) kind.value = report.kind;
  updateButtons();
}

function updateButtons() {
  $("load-example").disabled = !setup.examples.includes(kind.value);
  $("fetch-samples").disabled = !setup.sampleBinary || !kind.value;
}

function value(v) {
  if (v === null || v === undefined) return h("span", { class: "null" }, "null");
  if (typeof v === "object") return h("pre", { class: "value" }, JSON.stringify(v, null, 2));
  return h("span", { class: "value" }, typeof v === "string" ? JSON.stringify(v) : String(v));
}

// A field path that may break only after its dots.
function pathLabel(path) {
  const parts = path.split(".");
  return h("code", { class: "path" }, parts.map((p, i) => i ? [".", h("wbr"), p] : p));
}

function fieldValue(entity, path) {
  const dot = path.indexOf(".");
  if (dot < 0) return entity[path];
  const section = entity[path.slice(0, dot)];
  return section ? section[path.slice(dot + 1)] : undefined;
}

function outcome(field, count) {
  if (field.compileError) {
    return h("span", { class: "field-error" }, `does not compile: ${field.error}`);
  }
  if (field.error) {
    return h("span", { class: "field-error" }, `jq error: ${field.error}`,
      count ? ` (null in ${field.nullEntities} of ${count})` : "");
  }
  if (field.null) {
    return h("span", { class: "outcome-null" },
      count ? `null in ${field.nullEntities} of ${count}` : "null for some items");
  }
  return h("span", { class: "outcome-ok" }, "ok");
}

function resourceView(r, itemCount) {
  const problems = [];
  if (r.selectorDropped) {
    problems.push(h("li", {}, `${r.selectorDropped} item(s) dropped: the selector `,
      h("code", {}, r.selector), " gave false."));
  }
  for (const e of r.selectorErrors.slice(0, 5)) {
    problems.push(h("li", { class: "field-error" }, `Item ${e.item}: selector `, h("code", {}, r.selector),
      ` failed: ${e.message}`));
  }
  if (r.selectorErrors.length > 5) problems.push(h("li", {}, `… ${r.selectorErrors.length - 5} more selector errors.`));
  if (r.skipped) {
    const id = r.fields.find((f) => f.path === "identifier");
    const bp = r.fields.find((f) => f.path === "blueprint");
    problems.push(h("li", {}, `${r.skipped} item(s) skipped: the identifier `,
      h("code", {}, id ? id.expression : ""), " or the blueprint ", h("code", {}, bp ? bp.expression : ""),
      " was empty."));
  }
  for (const p of r.skippedParents.slice(0, 5)) {
    problems.push(h("li", {}, `Item ${p.item}: `, h("code", {}, r.itemsToParse || ""), ` ${p.message}`));
  }
  const fieldRows = r.fields.map((f) => h("tr", { "data-field": f.path },
    h("td", {}, pathLabel(f.path)),
    h("td", {}, f.expression === null ? h("span", { class: "null" }, "null") : h("code", {}, f.expression)),
    h("td", { class: "outcome" }, outcome(f, r.entityCount))));
  const entities = r.entities.slice(0, SHOWN_ENTITIES).map((e, i) => {
    const id = typeof e.identifier === "string" ? e.identifier : JSON.stringify(e.identifier);
    const rows = r.fields.map((f) => h("tr", { "data-field": f.path },
      h("th", { scope: "row" }, pathLabel(f.path)),
      h("td", {}, value(fieldValue(e, f.path)))));
    return h("details", { class: "entity", "data-entity": id, open: i < 3 },
      h("summary", {}, h("code", {}, id), e.title ? ` — ${e.title}` : ""),
      h("table", {}, h("tbody", {}, rows)));
  });
  return h("section", { class: "resource", "data-resource": r.index, "aria-label": `Resource ${r.index + 1}` },
    h("h3", {}, `Resource ${r.index + 1} · kind ${r.kind}`, r.itemsToParse ? " · itemsToParse " : "",
      r.itemsToParse ? h("code", {}, r.itemsToParse) : ""),
    h("p", { class: "summary" },
      `${itemCount} item(s)`, r.itemsMapped !== itemCount ? ` (${r.itemsMapped} after itemsToParse)` : "",
      ` → `, h("strong", { class: "entity-count" }, `${r.entityCount} entit${r.entityCount === 1 ? "y" : "ies"}`),
      `. Selector `, h("code", {}, r.selector), "."),
    r.batchError ? h("p", { class: "box error" }, `Ocean fails this batch (nothing of it is upserted): ${r.batchError}`) : null,
    problems.length ? h("ul", { class: "problems" }, problems) : null,
    h("table", { class: "fields" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Expression"),
        h("th", { scope: "col" }, "Outcome"))),
      h("tbody", {}, fieldRows)),
    entities.length ? h("h4", {}, r.entityCount > entities.length
      ? `Entities (first ${entities.length} of ${r.entityCount})` : `Entities (${r.entityCount})`) : null,
    entities);
}

function render(report) {
  const parts = [];
  if (report.configError) {
    parts.push(h("p", { class: "box error", id: "config-error" }, `The mapping is not valid: ${report.configError}`));
  }
  if (report.itemsError) {
    parts.push(h("p", { class: "box error", id: "items-error" }, report.itemsError));
  }
  if (!report.configError && !report.itemsError) {
    if (!report.kind) {
      parts.push(h("p", { class: "muted" }, "The mapping has no resources yet."));
    } else if (!report.resources.length) {
      parts.push(h("p", { class: "box warn" }, `The mapping has no resource of kind ${report.kind}.`));
    } else if (!report.items) {
      parts.push(h("p", { class: "muted" },
        "No items yet: paste a JSON array on the left, load an example or a file, or fetch samples."));
    }
    if (report.items) for (const r of report.resources) parts.push(resourceView(r, report.items));
  }
  result.replaceChildren(...parts);
  const total = report.resources.reduce((n, r) => n + r.entityCount, 0);
  if (!report.configError && !report.itemsError) {
    say(report.kind ? `${report.items} item(s) of kind ${report.kind} → ${total} entit${total === 1 ? "y" : "ies"}` : "");
  } else {
    say("Fix the highlighted problem to see entities.", true);
  }
}

// ----- items sources -----

async function loadExample() {
  if (!kind.value) return;
  try {
    items.value = (await call("GET", `/api/examples/${encodeURIComponent(kind.value)}`)).text;
    say(`Loaded .port/examples/${kind.value}.json`);
    await remap();
  } catch (error) {
    say(error.message, true);
  }
}

async function fetchSamples() {
  if (!kind.value) return;
  const button = $("fetch-samples");
  button.disabled = true;
  say(`Fetching the first page of ${kind.value} from the integration…`);
  try {
    const answer = (await call("POST", "/api/sample", { kind: kind.value })).json;
    items.value = answer.items;
    await remap();
    say(`Fetched samples of ${kind.value} with the integration's own fetcher. ${status.textContent}`);
  } catch (error) {
    say(error.message, true);
  } finally {
    updateButtons();
  }
}

function loadFile(event) {
  const file = event.target.files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => { items.value = reader.result; say(`Loaded ${file.name}`); remap(); };
  reader.onerror = () => say(`Cannot read ${file.name}`, true);
  reader.readAsText(file);
}

async function start() {
  try {
    setup = (await call("GET", "/api/setup")).json;
  } catch (error) {
    say(`Cannot reach the playground: ${error.message}`, true);
    return;
  }
  $("folder").textContent = setup.folder || "no integration folder";
  $("fetch-samples").title = setup.sampleHint;
  config.value = setup.config || "resources:\n  - kind: item\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          title: .name\n          blueprint: '\"item\"'\n";
  await remap();
  if (!items.value && setup.examples.includes(kind.value)) await loadExample();
}

items.addEventListener("input", schedule);
config.addEventListener("input", schedule);
kind.addEventListener("change", () => { updateButtons(); remap(); });
$("load-example").addEventListener("click", loadExample);
$("fetch-samples").addEventListener("click", fetchSamples);
$("items-file").addEventListener("change", loadFile);
$("reset-config").addEventListener("click", () => {
  config.value = setup.config || "";
  say("The mapping is the integration's own again.");
  remap();
});
start();
