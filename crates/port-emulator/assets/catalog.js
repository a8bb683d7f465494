// The emulator's catalog view: renders the read-only JSON routes under /_emulator/ into plain
// HTML. Routing is by the URL fragment (#/blueprint/ID, #/entity/BP/ID, ...), so every view is a
// link that works with the keyboard, the back button and a reload. Text is always set through
// textContent (never parsed as HTML).
"use strict";

const PAGE_SIZE = 25;
const main = document.getElementById("main");

// h("a", {href: "#/"}, "text", child, ...): an element with attributes and children.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const enc = encodeURIComponent;
const entityHref = (bp, id) => `#/entity/${enc(bp)}/${enc(id)}`;
const blueprintHref = (bp, query) => `#/blueprint/${enc(bp)}${query ? "?" + query : ""}`;

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = body && body.message ? body.message : `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body;
}

function when(micros) {
  if (micros === undefined || micros === null) return "";
  return new Date(micros / 1000).toLocaleString();
}

function isoWhen(text) {
  if (!text) return "";
  const at = new Date(text);
  return isNaN(at) ? text : at.toLocaleString();
}

function duration(micros) {
  if (micros < 1000) return `${micros} µs`;
  if (micros < 1e6) return `${(micros / 1000).toFixed(1)} ms`;
  return `${(micros / 1e6).toFixed(2)} s`;
}

function statusBadge(status) {
  const s = String(status || "unknown");
  const cls = /^\d+$/.test(s) ? `s-${s[0]}xx` : `s-${s}`;
  return h("span", { class: `badge ${cls}` }, s);
}

function value(v) {
  if (v === null || v === undefined) return h("span", { class: "muted" }, "null");
  if (typeof v === "object") return h("pre", { class: "value mono" }, JSON.stringify(v, null, 2));
  return String(v);
}

function table(headers, rows, numeric = []) {
  return h("div", { class: "scroll" },
    h("table", {},
      h("thead", {}, h("tr", {}, headers.map((t, i) =>
        h("th", { scope: "col", class: numeric.includes(i) ? "num" : null }, t)))),
      h("tbody", {}, rows.length
        ? rows.map((cells) => h("tr", {}, cells.map((c, i) =>
            h("td", { class: numeric.includes(i) ? "num" : null }, c))))
        : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, "Nothing here yet.")))));
}

function title(text, ...crumbs) {
  const parts = [];
  if (crumbs.length) {
    parts.push(h("div", { class: "crumbs" },
      h("a", { href: "#/" }, "Catalog"), crumbs.map((c) => [" / ", c])));
  }
  parts.push(h("h1", {}, text));
  document.title = `${text} · Port emulator`;
  return parts;
}

function lastState(integration) {
  const state = integration.resyncState;
  return state && state.status ? state.status : null;
}

// ----- views -----

async function home() {
  const [catalog, log] = await Promise.all([
    getJson("/_emulator/catalog"),
    getJson("/_emulator/requests?limit=15"),
  ]);
  const blueprints = catalog.blueprints.map(({ blueprint, entities }) => [
    h("a", { href: blueprintHref(blueprint.identifier) }, blueprint.title || blueprint.identifier),
    h("code", {}, blueprint.identifier),
    entities,
  ]);
  return [
    title("Catalog"),
    h("h2", { id: "blueprints" }, `Blueprints (${catalog.blueprints.length})`),
    table(["Blueprint", "Identifier", "Entities"], blueprints, [2]),
    h("h2", {}, `Integrations (${catalog.integrations.length})`),
    integrationTable(catalog.integrations),
    h("h2", {}, "Recent API requests"),
    requestTable(log.requests.slice().reverse()),
    h("p", {}, h("a", { href: "#/requests" }, `All recent requests (${log.total})`)),
  ];
}

function integrationTable(integrations) {
  return table(["Integration", "Type", "Version", "Last resync", "Updated"],
    integrations.map((i) => [
      h("a", { href: `#/integration/${enc(i.identifier)}` }, i.identifier),
      i.installationAppType || "",
      i.version || "",
      lastState(i) ? statusBadge(lastState(i)) : h("span", { class: "muted" }, "none"),
      isoWhen(i.resyncState && i.resyncState.updatedAt),
    ]));
}

function requestTable(requests) {
  return table(["Received", "Method", "Path", "Status", "Duration"],
    requests.map((r) => [
      when(r.received_at_micros),
      h("code", {}, r.method),
      h("code", {}, r.path + (r.query ? "?" + r.query : "")),
      [statusBadge(r.status), r.injected_fault ? " injected" : ""],
      duration(r.duration_micros),
    ]), [4]);
}

async function blueprintView(id, params) {
  const search = params.get("search") || "";
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  const query = new URLSearchParams({ blueprint: id, offset, limit: PAGE_SIZE });
  if (search) query.set("search", search);
  const [catalog, page] = await Promise.all([
    getJson("/_emulator/catalog"),
    getJson(`/_emulator/entities?${query}`),
  ]);
  const found = catalog.blueprints.find((b) => b.blueprint.identifier === id);
  if (!found) throw new Error(`Blueprint "${id}" was not found`);
  const blueprint = found.blueprint;
  const props = Object.keys((blueprint.schema && blueprint.schema.properties) || {}).slice(0, 4);
  const relations = Object.keys(blueprint.relations || {}).slice(0, 2);
  const input = h("input", {
    type: "search", name: "search", value: search, id: "entity-search",
    "aria-label": "Search by identifier or title", placeholder: "Search identifier or title (/)",
  });
  const form = h("form", {
    class: "search", role: "search",
    onsubmit: (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      if (input.value) next.set("search", input.value);
      location.hash = blueprintHref(id, next.toString());
    },
  }, input, h("button", { type: "submit" }, "Search"));
  const rows = page.entities.map((e) => [
    h("a", { href: entityHref(id, e.identifier) }, e.identifier),
    e.title === null || e.title === undefined ? h("span", { class: "muted" }, "—") : String(e.title),
    ...props.map((p) => short(e.properties[p])),
    ...relations.map((r) => relationLinks(blueprint.relations[r].target, e.relations[r])),
  ]);
  const from = page.total ? offset + 1 : 0;
  const to = offset + page.entities.length;
  const link = (label, at, rel) => {
    const next = new URLSearchParams();
    if (search) next.set("search", search);
    if (at) next.set("offset", at);
    return h("a", { href: blueprintHref(id, next.toString()), rel }, label);
  };
  const pager = h("nav", { class: "pager", "aria-label": "Pages" },
    offset > 0 ? link("← Previous", Math.max(0, offset - PAGE_SIZE), "prev") : null,
    h("span", { class: "muted", "aria-live": "polite" },
      `${from}–${to} of ${page.total}${search ? ` matching “${search}”` : ""}`),
    to < page.total ? link("Next →", offset + PAGE_SIZE, "next") : null);
  return [
    title(blueprint.title || id, h("span", {}, h("code", {}, id))),
    form,
    table(["Identifier", "Title", ...props, ...relations], rows),
    pager,
  ];
}

function short(v) {
  if (v === null || v === undefined) return h("span", { class: "muted" }, "null");
  const text = typeof v === "object" ? JSON.stringify(v) : String(v);
  return text.length > 80 ? text.slice(0, 79) + "…" : text;
}

function relationLinks(target, v) {
  const ids = Array.isArray(v) ? v : v === null || v === undefined ? [] : [v];
  if (!ids.length) return h("span", { class: "muted" }, "—");
  return ids.filter((x) => typeof x === "string")
    .map((x, i) => [i ? ", " : "", h("a", { href: entityHref(target, x) }, x)]);
}

async function entityView(bp, id) {
  const data = await getJson(`/_emulator/entity?blueprint=${enc(bp)}&identifier=${enc(id)}`);
  const e = data.entity;
  const blueprint = data.blueprint;
  const propRows = Object.entries(e.properties).map(([name, v]) => [h("code", {}, name), value(v)]);
  const relationRows = data.relations.map((r) => [
    h("code", {}, r.relation),
    h("a", { href: blueprintHref(r.target) }, r.target),
    r.entities.length
      ? r.entities.map((t, i) => [i ? ", " : "",
          h("a", { href: entityHref(r.target, t.identifier), class: t.exists ? null : "missing" },
            t.title ? `${t.title} (${t.identifier})` : t.identifier),
          t.exists ? "" : " (missing)"])
      : h("span", { class: "muted" }, "—"),
  ]);
  const refRows = data.referencedBy.map((r) => [
    h("a", { href: entityHref(r.blueprint, r.identifier) },
      r.title ? `${r.title} (${r.identifier})` : r.identifier),
    h("a", { href: blueprintHref(r.blueprint) }, r.blueprint),
    h("code", {}, r.relation),
  ]);
  return [
    title(e.title || e.identifier,
      h("a", { href: blueprintHref(bp) }, blueprint.title || bp), h("code", {}, e.identifier)),
    h("dl", { class: "meta" },
      h("dt", {}, "Identifier"), h("dd", {}, h("code", {}, e.identifier)),
      h("dt", {}, "Blueprint"), h("dd", {}, h("a", { href: blueprintHref(bp) }, bp)),
      h("dt", {}, "Team"), h("dd", {}, (e.team || []).join(", ") || "—"),
      h("dt", {}, "Written by"), h("dd", {}, h("code", {}, e.$datasource)),
      h("dt", {}, "Created"), h("dd", {}, isoWhen(e.createdAt)),
      h("dt", {}, "Updated"), h("dd", {}, isoWhen(e.updatedAt))),
    h("h2", {}, "Properties"),
    table(["Property", "Value"], propRows),
    h("h2", {}, "Relations"),
    table(["Relation", "Target blueprint", "Related entities"], relationRows),
    h("h2", {}, `Referenced by (${refRows.length})`),
    table(["Entity", "Blueprint", "Through relation"], refRows),
  ];
}

async function integrationsView() {
  const catalog = await getJson("/_emulator/catalog");
  return [title("Integrations", h("span", {}, "Integrations")), integrationTable(catalog.integrations)];
}

async function integrationView(id) {
  const [catalog, history] = await Promise.all([
    getJson("/_emulator/catalog"),
    getJson(`/_emulator/integrations/${enc(id)}/resync-states`),
  ]);
  const integration = catalog.integrations.find((i) => i.identifier === id);
  if (!integration) throw new Error(`Integration "${id}" was not found`);
  const states = history.resyncStates;
  const rows = states.slice().reverse().map((s) => {
    const body = s.body || {};
    const start = body.lastResyncStart ? new Date(body.lastResyncStart) : null;
    const end = body.lastResyncEnd ? new Date(body.lastResyncEnd) : null;
    const took = start && end && !isNaN(start) && !isNaN(end) && end >= start
      ? duration((end - start) * 1000) : "";
    return [when(s.received_at_micros), statusBadge(s.status), isoWhen(body.lastResyncStart),
      isoWhen(body.lastResyncEnd), took];
  });
  const strip = h("div", { class: "timeline", role: "img",
    "aria-label": `Resync states, oldest first: ${states.map((s) => s.status).join(", ") || "none"}` },
    states.map((s) => h("span", { class: `s-${s.status}`, title: `${s.status} at ${when(s.received_at_micros)}` })));
  return [
    title(id, h("a", { href: "#/integrations" }, "Integrations")),
    h("dl", { class: "meta" },
      h("dt", {}, "Type"), h("dd", {}, integration.installationAppType || "—"),
      h("dt", {}, "Version"), h("dd", {}, integration.version || "—"),
      h("dt", {}, "Last resync"), h("dd", {}, lastState(integration) ? statusBadge(lastState(integration)) : "none")),
    h("h2", {}, `Resync states over time (${states.length})`),
    strip,
    table(["Reported", "Status", "Resync started", "Resync ended", "Took"], rows, [4]),
  ];
}

async function requestsView() {
  const log = await getJson("/_emulator/requests?limit=200");
  return [
    title("Recent API requests", h("span", {}, "Requests")),
    h("p", { class: "muted" }, `The newest ${log.requests.length} of ${log.total}, newest first.`),
    requestTable(log.requests.slice().reverse()),
  ];
}

// ----- routing -----

function route() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  switch (parts[0]) {
    case undefined: return home();
    case "blueprint": return blueprintView(parts[1], params);
    case "entity": return entityView(parts[1], parts.slice(2).join("/"));
    case "integrations": return integrationsView();
    case "integration": return integrationView(parts[1]);
    case "requests": return requestsView();
    default: throw new Error(`Unknown page "${path}"`);
  }
}

let generation = 0;
async function render(focus) {
  const mine = ++generation;
  let content;
  try {
    content = await route();
  } catch (error) {
    content = [title("Not available"), h("p", { class: "error", role: "alert" }, error.message),
      h("p", {}, h("a", { href: "#/" }, "Back to the catalog"))];
  }
  if (mine !== generation) return;
  main.replaceChildren(...content.flat(Infinity));
  if (focus) {
    // A new page starts at its top, with the focus at its start for keyboard and screen readers.
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
}

window.addEventListener("hashchange", () => render(true));
document.getElementById("refresh").addEventListener("click", () => render(false));
document.addEventListener("keydown", (event) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "r") render(false);
  if (event.key === "/") {
    const search = document.getElementById("entity-search");
    if (search) { event.preventDefault(); search.focus(); }
  }
});
render(false);
