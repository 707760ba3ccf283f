// The planner's page: search a city, see ranked partner suggestions, filter, compare, map and export them.
// Plain DOM code. Text from the API only ever goes into text nodes and attributes, never into innerHTML.
"use strict";

const CONTINENTS = { AF: "Africa", AS: "Asia", EU: "Europe", NA: "North America", OC: "Oceania", SA: "South America" };
const TEXT_LISTS = ["countries", "exclude_countries", "languages"];
const CHECK_LISTS = ["continents", "industries", "themes"];
const CSV_COLUMNS = ["rank", "geonameid", "name", "admin1", "country", "population", "score", "reasons"];
// Shown in the column heads, or too technical for a side-by-side table.
const NOT_COMPARED = new Set(["geonameid", "name", "admin1", "country", "continent", "latitude", "longitude",
  "contributions"]);
const FACT_LABELS = {
  distance_km: "Distance (km)",
  shared_official_language: "Shared official language",
  born_in_candidate_country_living_in_city_country: "Migrants from their country living in ours",
  born_in_city_country_living_in_candidate_country: "Migrants from our country living in theirs",
  text_similarity: "Similarity of descriptions",
  common_partners: "Partners in common",
  city_partners_in_candidate_country: "Our partners in their country",
  candidate_partners_in_city_country: "Their partners in our country",
  candidate_partner_count: "Their known partners",
  climate: "Climate (Köppen)",
  known_partner: "Already a partner",
};
const FACT_FORMATS = {
  shared_industries: (ids) => ids.map((id) => termLabel("industries", id)).join(", ") || "none",
  shared_themes: (ids) => ids.map((id) => termLabel("themes", id)).join(", ") || "none",
  common_partners: (ids) => ids.map((id) => state.partnerNames.get(id) ?? `#${id}`).join(", ") || "none",
};
const MAX_COMPARE = 10;
const MAX_PARTNERS_SHOWN = 12;
const SVG_NS = "http://www.w3.org/2000/svg";
const MAP_W = 720;
const MAP_H = 360;

const state = {
  city: null, query: null, known: [], results: [], picked: new Set(), seq: 0, timer: null,
  vocabularies: { industries: {}, themes: {} }, partnerNames: new Map(),
};
const regionNames = new Intl.DisplayNames(["en"], { type: "region" });
const $ = (id) => document.getElementById(id);

// -- small helpers --------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

function svg(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function countryName(code) {
  try {
    return regionNames.of(code) ?? code;
  } catch {
    return code;
  }
}

function region(city) {
  return [city.admin1, countryName(city.country)].filter(Boolean).join(", ");
}

function placeLabel(city) {
  return `${city.name}, ${region(city)}`;
}

function formatNumber(value) {
  return typeof value === "number" ? value.toLocaleString("en") : "—";
}

function formatScore(value) {
  if (typeof value !== "number") return "—";
  const text = value.toFixed(2);
  return text === "-0.00" ? "0.00" : text;  // a score just below zero is not shown as "-0.00"
}

function humanize(key) {
  const text = key.replace(/_km$/, " (km)").replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function splitList(text) {
  return (text ?? "").split(",").map((part) => part.trim()).filter(Boolean);
}

function termLabel(kind, id) {
  return state.vocabularies[kind]?.[id] ?? id.replaceAll("_", " ");
}

// -- talking to the API ---------------------------------------------------------------------------

async function getJSON(path, params = {}, signal = null) {
  const url = new URL(path, document.baseURI);
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(key, value);
  }
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new Error("The server could not be reached. Check the connection and try again.");
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(errorMessage(body, response));
  return body;
}

function errorMessage(body, response) {
  if (typeof body?.message !== "string") return `The server answered ${response.status} ${response.statusText}.`;
  const matches = (body.matches ?? []).map(placeLabel);
  return matches.length ? `${body.message} Close matches: ${matches.join("; ")}.` : body.message;
}

function showError(err) {
  const box = $("error");
  box.textContent = err.message;
  box.hidden = false;
  setBusy(false);
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function setStatus(text) {
  $("status").textContent = text;
}

function setBusy(busy) {
  $("suggestions").setAttribute("aria-busy", String(busy));
}

// -- search with autocomplete ---------------------------------------------------------------------

function setupSearch() {
  const input = $("city-search");
  const list = $("city-options");
  let timer = null;
  let controller = null;
  let options = [];
  let active = -1;

  function close() {
    clearTimeout(timer);
    controller?.abort();
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    options = [];
    active = -1;
  }

  function highlight(index) {
    active = index;
    list.querySelectorAll("[role=option]")
      .forEach((item, i) => item.setAttribute("aria-selected", String(i === index)));
    if (index < 0) {
      input.removeAttribute("aria-activedescendant");
      return;
    }
    input.setAttribute("aria-activedescendant", `city-option-${index}`);
    $(`city-option-${index}`).scrollIntoView({ block: "nearest" });
  }

  function pick(index) {
    const city = options[index];
    if (!city) return;
    input.value = placeLabel(city);
    close();
    chooseCity(city);
  }

  function option(city, index) {
    const item = el("li", { id: `city-option-${index}`, role: "option", "aria-selected": "false",
      "data-testid": "city-option", "data-geonameid": city.geonameid },
    el("span", { class: "opt-name" }, city.name),
    el("span", { class: "opt-place" }, `, ${region(city)}`),
    el("span", { class: "opt-pop" }, ` — ${formatNumber(city.population)}`));
    item.addEventListener("mousedown", (event) => {
      event.preventDefault(); // keep focus in the input
      pick(index);
    });
    item.addEventListener("mousemove", () => active !== index && highlight(index));
    return item;
  }

  function show(found, similar) {
    options = found.length ? found : similar;
    list.replaceChildren(...options.map(option));
    const note = found.length ? null : similar.length ? "No exact match. Did you mean:" : "No city of that name.";
    if (note) list.prepend(el("li", { class: "note", role: "presentation" }, note));
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(options.length ? 0 : -1);
  }

  async function lookup() {
    const text = input.value.trim();
    if (text.length < 2) {
      close();
      return;
    }
    controller?.abort();
    controller = new AbortController();
    try {
      const body = await getJSON("v1/cities", { q: text, limit: 10 }, controller.signal);
      if (input.value.trim() === text) show(body.results, body.suggestions);
    } catch (err) {
      if (err.name !== "AbortError") showError(err);
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(lookup, 200);
  });
  input.addEventListener("keydown", (event) => {
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves && options.length) {
      event.preventDefault();
      highlight((active + moves[event.key] + options.length) % options.length);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      pick(active);
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", close);
}

// -- the chosen city and its suggestions ----------------------------------------------------------

function chooseCity(city) {
  state.city = city;
  state.picked.clear();
  $("compare").hidden = true;
  state.known = [];
  state.partnerNames = new Map();
  $("query-profile").textContent = "";
  $("query-partners").textContent = "";
  renderQuery(city);
  loadProfile(city.geonameid);
  loadSuggestions();
}

async function loadProfile(geonameid) {
  try {
    const [details, partners] = await Promise.all([getJSON(`v1/cities/${geonameid}`),
      getJSON(`v1/cities/${geonameid}/partners`)]);
    if (state.city?.geonameid !== geonameid) return;
    state.partnerNames = new Map(partners.partners.map((city) => [city.geonameid, city.name]));
    renderProfile(details.curated, partners.partners);
  } catch (err) {
    showError(err);
  }
}

function filterParams() {
  const data = new FormData($("filters"));
  const params = {
    k: data.get("k"),
    diversity: Number(data.get("diversity")) > 0 ? data.get("diversity") : "",
    intent: data.get("intent").trim(),
    min_population: data.get("min_population"),
    max_population: data.get("max_population"),
  };
  for (const name of TEXT_LISTS) params[name] = splitList(data.get(name)).join(",");
  for (const name of CHECK_LISTS) params[name] = data.getAll(name).join(",");
  return params;
}

function scheduleLoad(delay) {
  clearTimeout(state.timer);
  state.timer = setTimeout(loadSuggestions, delay);
}

async function loadSuggestions() {
  if (!state.city) return;
  const seq = ++state.seq;
  const params = filterParams();
  clearError();
  setBusy(true);
  $("suggestions").hidden = false;
  setStatus(`Looking for partners for ${state.city.name}…`);
  saveInAddress(params);
  try {
    const body = await getJSON(`v1/cities/${state.city.geonameid}/recommendations`, params);
    if (seq === state.seq) showSuggestions(body);
  } catch (err) {
    if (seq === state.seq) showError(err);
  }
}

function showSuggestions(body) {
  state.query = body.query;
  state.known = body.known_partners;
  state.results = body.results;
  const ids = new Set(state.results.map((city) => city.geonameid));
  state.picked = new Set([...state.picked].filter((id) => ids.has(id)));
  renderQuery(state.query);
  renderResults();
  renderMap();
  const count = state.results.length;
  setStatus(count ? `${count} suggestion${count === 1 ? "" : "s"} for ${state.query.name}, best first.`
    : `No city matches these filters. Loosen a filter and try again.`);
  setBusy(false);
}

function renderQuery(city) {
  $("query-city").hidden = false;
  $("query-name").textContent = placeLabel(city);
  const known = state.known.length;
  const facts = [`Population ${formatNumber(city.population)}`, CONTINENTS[city.continent]];
  if (known) facts.push(`${known} known partner${known === 1 ? "" : "s"}, left out of the suggestions`);
  $("query-facts").textContent = facts.filter(Boolean).join(" · ");
}

function renderProfile(curated, partners) {
  const parts = ["industries", "themes"].filter((kind) => curated?.[kind]?.length)
    .map((kind) => `${humanize(kind)}: ${curated[kind].map((id) => termLabel(kind, id)).join(", ")}`);
  $("query-profile").textContent = parts.join(" · ");
  const names = partners.slice(0, MAX_PARTNERS_SHOWN).map((city) => `${city.name} (${countryName(city.country)})`);
  const more = partners.length - names.length;
  const list = `${names.join(", ")}${more ? ` and ${more} more` : ""}`;
  $("query-partners").textContent = names.length ? `Known partners: ${list}.` : "No known partners.";
}

// -- the results table ----------------------------------------------------------------------------

function renderResults() {
  const rows = state.results.map(resultRow);
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No city matches these filters.")));
  $("results").tBodies[0].replaceChildren(...rows);
  renderSelection();
}

function resultRow(city, index) {
  const id = city.geonameid;
  const box = el("input", { type: "checkbox", id: `pick-${id}`, class: "pick", "data-testid": "pick" });
  box.checked = state.picked.has(id);
  box.addEventListener("change", () => {
    if (box.checked) state.picked.add(id);
    else state.picked.delete(id);
    renderSelection();
  });
  return el("tr", { "data-testid": "result-row", "data-geonameid": id, "data-country": city.country,
    "data-continent": city.continent },
  el("td", {}, box),
  el("td", { class: "rank" }, String(index + 1)),
  el("td", {},
    el("label", { for: box.id, class: "city-name" }, city.name),
    el("div", { class: "sub" }, region(city))),
  el("td", { class: "num" }, formatNumber(city.population)),
  el("td", { class: "num score" }, formatScore(city.score)),
  el("td", {}, reasonList(city.reasons), breakdown(city.contributions)));
}

function reasonList(reasons) {
  return el("ul", { class: "reasons", "data-testid": "reasons" }, ...reasons.map((text) => el("li", {}, text)));
}

function breakdown(contributions) {
  const top = Object.entries(contributions).filter(([, value]) => value !== 0)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 6);
  if (!top.length) return null;
  return el("details", { class: "breakdown" }, el("summary", {}, "Score breakdown"),
    el("ul", {}, ...top.map(([feature, value]) => el("li", { class: value > 0 ? "up" : "down" },
      `${humanize(feature)}: ${value > 0 ? "+" : ""}${value.toFixed(2)}`))));
}

function renderSelection() {
  const count = state.picked.size;
  $("selection-count").textContent = count ? `${count} ticked` : "";
  const button = $("compare-btn");
  button.disabled = count < 1 || count > MAX_COMPARE;
  button.title = count > MAX_COMPARE ? `Compare at most ${MAX_COMPARE} cities at once` : "";
  $("export-btn").textContent = count ? "Export ticked as CSV" : "Export CSV";
}

function pickedInOrder() {
  return state.results.filter((city) => state.picked.has(city.geonameid));
}

// -- compare side by side -------------------------------------------------------------------------

async function loadCompare() {
  const ids = pickedInOrder().map((city) => city.geonameid);
  clearError();
  try {
    const body = await getJSON("v1/compare", { city: state.city.geonameid, candidates: ids.join(",") });
    renderCompare(body.candidates);
  } catch (err) {
    showError(err);
  }
}

function compareRows(items) {
  const rows = new Map(); // one row per field name: a top-level field wins over a nested one of the same name
  const add = (path) => rows.has(path.at(-1)) || rows.set(path.at(-1), path);
  for (const item of items) {
    for (const [key, value] of Object.entries(item)) {
      if (NOT_COMPARED.has(key)) continue;
      const nested = value && typeof value === "object" && !Array.isArray(value);
      if (nested) Object.keys(value).forEach((sub) => add([key, sub]));
      else add([key]);
    }
  }
  const order = (path) => ({ score: 0, reasons: 2 }[path.at(-1)] ?? 1);
  return [...rows.values()].sort((a, b) => order(a) - order(b));
}

function renderCompare(items) {
  const head = el("tr", {}, el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "Feature")),
    ...items.map((item) => el("th", { scope: "col", "data-geonameid": item.geonameid }, placeLabel(item))));
  const body = compareRows(items).map((path) => el("tr", { "data-key": path.join(".") },
    el("th", { scope: "row" }, FACT_LABELS[path.at(-1)] ?? humanize(path.at(-1))),
    ...items.map((item) => el("td", {}, compareCell(path.at(-1), path.reduce((obj, key) => obj?.[key], item))))));
  $("compare-table").replaceChildren(el("caption", { class: "visually-hidden" }, "Ticked cities side by side"),
    el("thead", {}, head), el("tbody", {}, ...body));
  $("compare").hidden = false;
  $("compare").scrollIntoView({ behavior: "smooth", block: "start" });
}

function compareCell(key, value) {
  if (key === "reasons" && Array.isArray(value)) return reasonList(value);
  if (key === "score") return formatScore(value);
  if (key in FACT_FORMATS && Array.isArray(value)) return FACT_FORMATS[key](value);
  return formatValue(value);
}

function formatValue(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return value.toLocaleString("en", { maximumFractionDigits: 3 });
  if (Array.isArray(value)) return value.length ? value.map(formatValue).join(", ") : "none";
  if (typeof value === "object") {
    const parts = Object.entries(value).map(([key, item]) => `${humanize(key)}: ${formatValue(item)}`);
    return value.name ?? parts.join("; ");
  }
  return String(value);
}

// -- the map --------------------------------------------------------------------------------------

function mapView(points) {
  const lons = points.map((p) => p.longitude);
  const lats = points.map((p) => p.latitude);
  const [west, east, south, north] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const spanLon = Math.min(360, 1.25 * Math.max(east - west, 2 * (north - south), 16));
  const spanLat = spanLon / 2;
  const clamp = (value, low, high) => Math.min(Math.max(value, low), high);
  return {
    west: (west + east) / 2 - spanLon / 2, // may pass the antimeridian: labels wrap, the sea goes on
    north: clamp((north + south) / 2 + spanLat / 2, -90 + spanLat, 90),
    spanLon,
    spanLat,
  };
}

function projector(view) {
  return (lon, lat) => [(lon - view.west) / view.spanLon * MAP_W, (view.north - lat) / view.spanLat * MAP_H];
}

function graticule(view, project) {
  const step = [1, 2, 5, 10, 15, 30].find((s) => view.spanLon / s <= 12) ?? 30;
  const lines = [];
  for (let lon = Math.ceil(view.west / step) * step; lon <= view.west + view.spanLon; lon += step) {
    const [x] = project(lon, 0);
    lines.push(svg("line", { x1: x, y1: 0, x2: x, y2: MAP_H, class: lon === 0 ? "grid main" : "grid" }));
    const wrapped = ((lon + 540) % 360) - 180;
    const label = svg("text", { x: x + 4, y: MAP_H - 6, class: "grid-label" }, degrees(wrapped, "E", "W"));
    if (x < MAP_W - 50) lines.push(label);
  }
  for (let lat = Math.ceil((view.north - view.spanLat) / step) * step; lat <= view.north; lat += step) {
    const [, y] = project(0, lat);
    lines.push(svg("line", { x1: 0, y1: y, x2: MAP_W, y2: y, class: lat === 0 ? "grid main" : "grid" }),
      svg("text", { x: 4, y: y - 4, class: "grid-label" }, degrees(lat, "N", "S")));
  }
  return lines;
}

function degrees(value, positive, negative) {
  const size = Math.abs(value);
  return size === 0 || size === 180 ? `${size}°` : `${size}°${value > 0 ? positive : negative}`;
}

function renderMap() {
  const map = $("map");
  const { query, results } = state;
  $("map-panel").hidden = false;
  const view = mapView([query, ...results]);
  const project = projector(view);
  const [qx, qy] = project(query.longitude, query.latitude);
  const lines = results.map((city) => {
    const [x, y] = project(city.longitude, city.latitude);
    return svg("line", { x1: qx, y1: qy, x2: x, y2: y, class: "link" });
  });
  const dots = results.map((city, index) => {
    const [x, y] = project(city.longitude, city.latitude);
    const rank = index + 1;
    return svg("g", { class: "result-dot", "data-testid": "map-dot", "data-geonameid": city.geonameid },
      svg("title", {}, `${rank}. ${placeLabel(city)} — score ${formatScore(city.score)}`),
      svg("circle", { cx: x, cy: y, r: 8 }),
      svg("text", { x: x + 11, y: y + 6, class: "label" }, String(rank)));
  });
  const home = svg("g", { class: "query-dot", "data-testid": "map-query" },
    svg("title", {}, `${placeLabel(query)} (your city)`),
    svg("circle", { cx: qx, cy: qy, r: 11 }),
    svg("text", { x: qx + 14, y: qy - 12, class: "label" }, query.name));
  map.replaceChildren(svg("rect", { width: MAP_W, height: MAP_H, class: "sea" }), ...graticule(view, project),
    ...lines, ...dots, home);
}

// -- CSV export -----------------------------------------------------------------------------------

function exportCsv() {
  const chosen = state.picked.size ? pickedInOrder() : state.results;
  const rows = chosen.map((city) => [state.results.indexOf(city) + 1, city.geonameid, city.name, city.admin1,
    city.country, city.population, city.score, city.reasons.join("; ")]);
  const text = [CSV_COLUMNS, ...rows].map((cells) => cells.map(csvCell).join(",")).join("\r\n");
  const blob = new Blob(["\ufeff", text, "\r\n"], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const name = (state.query?.name ?? "city").normalize("NFKD").replace(/\p{M}+/gu, "");
  const slug = name.replace(/[^\w-]+/g, "-").toLowerCase();
  const link = el("a", { href: url, download: `partners-${slug}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function csvCell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`; // spreadsheets must not run it
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

// -- the address bar keeps the city and filters, so a shortlist can be bookmarked or shared --------

function saveInAddress(params) {
  const query = new URLSearchParams({ city: state.city.geonameid });
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  history.replaceState(null, "", `?${query}`);
}

async function restoreFromAddress() {
  const saved = new URLSearchParams(location.search);
  const id = saved.get("city");
  if (!id) return;
  const form = $("filters");
  for (const [key, value] of saved) {
    if (CHECK_LISTS.includes(key)) {
      const wanted = new Set(value.split(","));
      form.querySelectorAll(`input[name=${key}]`).forEach((box) => { box.checked = wanted.has(box.value); });
    } else if (form.elements[key]) {
      form.elements[key].value = value;
    }
  }
  updateFilterLabels();
  try {
    const city = await getJSON(`v1/cities/${encodeURIComponent(id)}`);
    $("city-search").value = placeLabel(city);
    chooseCity(city);
  } catch (err) {
    showError(err);
  }
}

// -- wiring ---------------------------------------------------------------------------------------

function checkboxes(name, terms) {
  return Object.entries(terms).map(([value, label]) => el("label", { class: "check" },
    el("input", { type: "checkbox", name, value, id: `f-${name}-${value}` }), ` ${label}`));
}

async function loadVocabularies() {
  try {
    const meta = await getJSON("v1/meta");
    state.vocabularies = meta.vocabularies;
    for (const kind of ["industries", "themes"]) {
      const sorted = Object.entries(meta.vocabularies[kind]).sort((a, b) => a[1].localeCompare(b[1]));
      $(`f-${kind}`).replaceChildren(...checkboxes(kind, Object.fromEntries(sorted)));
    }
  } catch (err) {
    showError(err);
  }
}

function updateFilterLabels() {
  const form = $("filters");
  $("diversity-value").textContent = form.elements.diversity.value;
  for (const kind of ["industries", "themes"]) {
    const count = form.querySelectorAll(`input[name=${kind}]:checked`).length;
    $(`${kind}-count`).textContent = count ? `(${count} ticked)` : "";
  }
}

function setupFilters() {
  const form = $("filters");
  $("f-continents").replaceChildren(...checkboxes("continents", CONTINENTS));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    scheduleLoad(0);
  });
  form.addEventListener("input", updateFilterLabels);
  form.addEventListener("change", () => scheduleLoad(250));
  form.addEventListener("reset", () => setTimeout(() => {
    updateFilterLabels();
    scheduleLoad(0);
  }));
}

async function setup() {
  setupSearch();
  setupFilters();
  $("compare-btn").addEventListener("click", loadCompare);
  $("compare-close").addEventListener("click", () => { $("compare").hidden = true; });
  $("export-btn").addEventListener("click", exportCsv);
  await loadVocabularies();
  restoreFromAddress();
}

document.addEventListener("DOMContentLoaded", setup);
