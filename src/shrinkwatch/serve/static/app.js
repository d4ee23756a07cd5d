/* ShrinkWatch dashboard: plain JavaScript, no build step, no network beyond this server.
 *
 * Every name from the data goes into the page through textContent, never parsed as markup, so a unit named
 * "<script>" is text. Every string of the interface comes from /static/messages.json (English and Chinese).
 * The map is MapLibre GL JS (vendored); its geometry comes pre-projected from /dashboard/geometry (the
 * report's equal-area plane, see serve/dashboard.py), coloured per unit through feature-state.
 *
 * window.swDashboard exposes the state tests wait on, mirrored on <body> as data attributes (a test waits on a
 * selector, which needs no eval under the page's Content-Security-Policy): `version` (data-version) counts
 * finished recomputations, `idle` (data-idle) is true once the map has rendered the latest one (MapLibre's
 * 'idle' event), `profileVersion` (data-profile-version) counts profiles shown, `firstRenderMs`
 * (data-first-render-ms) is the time from navigation start to the first map rendered with its colours.
 */
"use strict";

(function () {
  const RATE_BINS = [-Infinity, -1.0, -0.5, 0.0, 1.0];
  const RATE_COLORS = ["#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#4393c3"];
  const NO_DATA = "#bdbdbd";
  const STATUS_CODES = { shrinking: 1, not_shrinking: 2, insufficient_data: 3, boundary_change: 4 };
  const STATUS_COLORS = { 1: "#b2182b", 2: "#4393c3", 3: NO_DATA, 4: "#8073ac" };
  const TABLE_LIMIT = 400;

  const S = {
    msgs: null, lang: "en", datasets: [], standards: [], dataset: null, standard: null, params: {},
    result: null, byId: new Map(), names: new Map(), namesReady: null, geometry: null, bboxes: new Map(), timeline: null, yearIndex: null,
    selected: null, sort: { key: "annual_rate", dir: 1 }, request: 0, map: null, mapReady: null,
    markers: [], runs: [], prefetched: null,
  };
  const T = window.swDashboard = { version: 0, idle: false, firstRenderMs: null, errors: 0, profileVersion: 0, marks: {} };
  const stamp = (name) => { if (!(name in T.marks)) T.marks[name] = Math.round(performance.now()); };

  const $ = (id) => document.getElementById(id);

  function mark() {
    const b = document.body.dataset;
    b.version = String(T.version);
    b.idle = String(T.idle);
    b.profileVersion = String(T.profileVersion);
    b.errors = String(T.errors);
    if (T.firstRenderMs !== null) b.firstRenderMs = T.firstRenderMs.toFixed(0);
  }

  function t(key, fields) {
    const table = (S.msgs && S.msgs[S.lang]) || {};
    let text = key in table ? table[key] : key;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) text = text.split("{" + k + "}").join(String(v));
    }
    return text;
  }

  // Chinese for a text the API gives in English (a parameter's description, a registered dataset's title):
  // messages.json's key when it has one, else the API's own text (a user's standard or panel)
  function localized(key, english) {
    const table = S.lang === "zh" && S.msgs ? S.msgs.zh : null;
    return table && key in table ? table[key] : english;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  const FORMATS = new Map();
  function fmt(value, digits) {
    if (value === null || value === undefined || (typeof value === "number" && !isFinite(value))) return "–";
    if (typeof value === "number") {
      const d = digits === undefined ? (Number.isInteger(value) ? 0 : 2) : digits;
      const key = S.lang + d;  // one formatter per language and precision (toLocaleString makes one per call)
      if (!FORMATS.has(key)) FORMATS.set(key, new Intl.NumberFormat(S.lang === "zh" ? "zh-CN" : "en-US", { maximumFractionDigits: d, minimumFractionDigits: 0 }));
      return FORMATS.get(key).format(value);
    }
    if (typeof value === "boolean") return value ? t("profile.yes") : t("profile.no");
    return String(value);
  }

  function unitName(u) {
    if (!u) return "";
    if (S.lang === "en" && u.name_en) return u.name_en;
    return u.name || u.unit_id;
  }

  function showError(detail) {
    T.errors += 1;
    mark();
    const box = $("error");
    box.hidden = false;
    box.textContent = t("error", { detail: detail });
  }

  function hideError() { $("error").hidden = true; }

  function busy(on, key) { $("busy").textContent = on ? t(key || "loading") : ""; }

  // a 503 with Retry-After is the server saying the work goes on past its time limit (a large dataset loading,
  // a long sweep): ask again when it says, for up to ten minutes, instead of showing an error
  async function getJSON(url) {
    let response = null;
    for (let waited = 0; ; ) {
      response = await fetch(url, { credentials: "same-origin" });
      const retry = Number(response.headers.get("Retry-After"));
      if (response.status !== 503 || !(retry > 0) || waited + retry > 600) break;
      $("busy").textContent = t("still_computing");
      await new Promise((resolve) => setTimeout(resolve, retry * 1000));
      waited += retry;
    }
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail))
        : response.status + " " + response.statusText;
      const error = new Error(detail);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  // ------------------------------------------------------------------ the query of the current view

  function query(extra) {
    const q = new URLSearchParams();
    q.set("dataset", S.dataset);
    q.set("standard", S.standard);
    q.set("lang", S.lang);
    const std = currentStandard();
    for (const p of (std ? std.parameters : [])) {
      const value = S.params[p.key];
      if (value === undefined || value === null || value === "") continue;
      if (String(value) === String(p.default)) continue;
      q.set(p.key, String(value));
    }
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    return q.toString();
  }

  function currentStandard() { return S.standards.find((s) => s.id === S.standard) || null; }
  function currentDataset() { return S.datasets.find((d) => d.id === S.dataset) || null; }

  // ------------------------------------------------------------------ static strings

  function applyStrings() {
    document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.getAttribute("data-i18n"));
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
      node.setAttribute("placeholder", t(node.getAttribute("data-i18n-placeholder")));
    }
    const status = $("table-status");
    const chosen = status.value;
    clear(status).appendChild(el("option", { value: "", text: t("table.all_statuses") }));
    for (const key of Object.keys(STATUS_CODES)) status.appendChild(el("option", { value: key, text: t("status." + key) }));
    status.value = chosen;
    fillStandardSelect();
    fillDatasetSelect();
  }

  function fillDatasetSelect() {
    const select = $("dataset");
    clear(select);
    for (const d of S.datasets) {
      const title = localized("dataset." + d.id, d.title);
      select.appendChild(el("option", { value: d.id, text: title ? d.id + " — " + title : d.id, title: title || null }));
    }
    select.value = S.dataset;
  }

  function fillStandardSelect() {
    const select = $("standard");
    clear(select);
    for (const s of S.standards) {
      const name = S.lang === "zh" && s.name_zh ? s.name_zh : s.name;
      select.appendChild(el("option", { value: s.id, text: name || s.id, title: S.lang === "zh" ? s.summary_zh : s.summary }));
    }
    select.value = S.standard;
  }

  // ------------------------------------------------------------------ parameter controls

  function buildParams() {
    const form = clear($("params"));
    const std = currentStandard();
    if (!std) return;
    for (const p of std.parameters) {
      const id = "param-" + p.key;
      let input;
      const value = S.params[p.key] !== undefined ? S.params[p.key] : p.default;
      if (p.choices && p.choices.length) {
        input = el("select", { id: id, name: p.key });
        for (const c of p.choices) input.appendChild(el("option", { value: String(c), text: String(c) }));
        input.value = String(value);
      } else if (p.type === "bool") {
        input = el("input", { id: id, name: p.key, type: "checkbox" });
        input.checked = value === true || value === "true";
      } else if (p.type === "int" || p.type === "float") {
        const step = p.type === "int" ? 1 : stepFor(p);
        input = el("input", { id: id, name: p.key, type: "number", step: step, min: p.min, max: p.max });
        input.value = value === null || value === undefined ? "" : String(value);
      } else {
        input = el("input", { id: id, name: p.key, type: "text" });
        input.value = value === null || value === undefined ? "" : String(value);
      }
      input.dataset.key = p.key;
      input.addEventListener("change", onParamChange);
      if (input.type === "number") input.addEventListener("input", debounce(onParamChange, 400));
      const label = el("label", { for: id }, el("span", { class: "key", text: p.key }));
      const description = localized("param." + std.id + "." + p.key, p.description);
      if (description) label.appendChild(el("span", { class: "desc", text: description }));
      label.appendChild(input);
      form.appendChild(label);
    }
  }

  function stepFor(p) {
    const d = Math.abs(Number(p.default));
    if (!isFinite(d) || d === 0) return "any";
    const magnitude = Math.pow(10, Math.floor(Math.log10(d)) - 1);
    return String(Number(magnitude.toPrecision(1)));
  }

  function debounce(fn, ms) {
    let timer = null;
    return function (event) { clearTimeout(timer); timer = setTimeout(() => fn(event), ms); };
  }

  function onParamChange(event) {
    const input = event.target;
    const key = input.dataset.key;
    const value = input.type === "checkbox" ? input.checked : input.value;
    if (String(S.params[key]) === String(value)) return;
    S.params[key] = value;
    recompute();
  }

  function resetParams() {
    S.params = {};
    const std = currentStandard();
    for (const p of (std ? std.parameters : [])) S.params[p.key] = p.default;
    buildParams();
    recompute();
  }

  // ------------------------------------------------------------------ the map

  function waitForMapLibre() {
    return new Promise((resolve) => {
      if (window.maplibregl) return resolve();
      window.addEventListener("load", () => resolve());
    });
  }

  function createMap() {
    const map = new maplibregl.Map({
      container: "map",
      // no transitions or fades: a recoloured map is drawn in one frame (each frame is costly in software WebGL);
      // no background layer: the map's element has the colour (app.css) and the canvas is clear where nothing is
      // drawn, which saves a shader program and a pass over every pixel of each frame
      style: { version: 8, sources: {}, transition: { duration: 0, delay: 0 }, layers: [] },
      fadeDuration: 0,
      center: [0, 20], zoom: 2, renderWorldCopies: false, attributionControl: { compact: true },
      dragRotate: false, pitchWithRotate: false, touchPitch: false, maxZoom: 14,
    });
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.touchZoomRotate.disableRotation();
    S.map = map;
    // the screen point of a unit's centre (tests click the map there)
    T.pointOf = (id) => {
      const b = S.bboxes.get(String(id));
      if (!b) return null;
      const p = map.project([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]);
      const r = map.getContainer().getBoundingClientRect();
      return [r.left + p.x, r.top + p.y];
    };
    S.mapReady = new Promise((resolve) => map.on("load", resolve));
    map.on("idle", () => {
      if (S.geometryDone && T.pendingVersion !== undefined && T.pendingVersion === T.version) {
        T.idle = true;
        if (T.firstRenderMs === null) { T.firstRenderMs = performance.now(); stamp("first_idle"); T.marks.frames_to_first = T.marks.frames; }
        if (S.tableLater) { S.tableLater = false; renderTable(); }
        mark();
      }
    });
    T.marks.frames = 0;
    map.on("render", () => { T.marks.frames += 1; });
    map.on("sourcedata", (e) => { if (e.sourceId === "units" && e.isSourceLoaded && S.geometry) stamp("units_source_loaded"); });
    map.on("move", updateScale);
    map.on("moveend", () => { if ($("table-in-view").checked) renderTable(); });
    map.on("click", "units-fill", (e) => { if (e.features && e.features.length) selectUnit(String(e.features[0].properties.unit_id), false); });
    map.on("mouseenter", "units-fill", () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", "units-fill", () => { map.getCanvas().style.cursor = ""; });
    const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, maxWidth: "280px" });
    map.on("mousemove", "units-fill", (e) => {
      const f = e.features && e.features[0];
      if (!f) return;
      const u = S.byId.get(String(f.properties.unit_id)) || f.properties;
      const box = el("div", {}, el("strong", { text: unitName(u) }));
      if (u.parent_name) box.appendChild(el("div", { text: u.parent_name }));
      if (u.status) box.appendChild(el("div", { text: t("status." + u.status) + (u.annual_rate !== null && u.annual_rate !== undefined ? " · " + fmt(u.annual_rate, 2) + " %/yr" : "") }));
      popup.setLngLat(e.lngLat).setDOMContent(box).addTo(map);
    });
    map.on("mouseleave", "units-fill", () => popup.remove());
  }

  function fillColorRate() {
    return ["case",
      ["==", ["feature-state", "cls"], null], NO_DATA,
      ["match", ["feature-state", "cls"], 0, RATE_COLORS[0], 1, RATE_COLORS[1], 2, RATE_COLORS[2], 3, RATE_COLORS[3], 4, RATE_COLORS[4], NO_DATA]];
  }

  function fillColorStatus() {
    return ["match", ["coalesce", ["feature-state", "ts"], 0], 1, STATUS_COLORS[1], 2, STATUS_COLORS[2], 3, STATUS_COLORS[3], 4, STATUS_COLORS[4], "#ffffff"];
  }

  function installGeometry(geo) {
    const map = S.map;
    for (const id of ["units-line", "units-fill", "units-point", "context-fill", "context-outline", "context-maritime", "context-frame"]) {
      if (map.getLayer(id)) map.removeLayer(id);
    }
    for (const id of ["units", "context"]) if (map.getSource(id)) map.removeSource(id);
    for (const m of S.markers) m.remove();
    S.markers = [];
    // a tile carries the features within 32 of its 512 pixels around it (MapLibre's default is 128, a quarter of a
    // tile each side: every tile of the first view then holds more than twice its own area to clip, tessellate and
    // draw); the widest line drawn is 4 pixels, so 32 still joins the lines across tiles without a seam. Outlines
    // are simplified per zoom to MapLibre's default tolerance (0.375 pixel, not 0.2): a third fewer vertices in
    // the first view, and the picture differs only below a pixel
    map.addSource("units", { type: "geojson", data: geo.units, promoteId: "unit_id", tolerance: 0.375, buffer: 32 });
    map.addSource("context", { type: "geojson", data: geo.context, tolerance: 0.375, buffer: 32 });
    // the areas' fill without its antialiased outline pass (a second draw of its edges, costly in software WebGL):
    // context-outline draws those edges above it. (Its outline colour stays a constant, as units-fill's: the two
    // layers then share one shader program.)
    map.addLayer({ id: "context-fill", type: "fill", source: "context", filter: ["==", ["get", "layer"], "area"],
      paint: { "fill-color": ["case", ["get", "in_panel"], "#f0f0f0", NO_DATA], "fill-outline-color": "#c8c8c8",
        "fill-antialias": false } });
    const polygons = ["in", ["geometry-type"], ["literal", ["Polygon", "MultiPolygon"]]];
    const points = ["in", ["geometry-type"], ["literal", ["Point", "MultiPoint"]]];
    const shrinking = ["boolean", ["feature-state", "shrinking"], false];
    const selected = ["boolean", ["feature-state", "selected"], false];
    map.addLayer({ id: "units-fill", type: "fill", source: "units", filter: polygons,
      paint: { "fill-color": fillColorRate(), "fill-outline-color": "#ffffff" } });
    // a layer MapLibre draws costs a shader program to compile (slow in software WebGL): points only when present
    if (geo.has_points) map.addLayer({ id: "units-point", type: "circle", source: "units", filter: points,
      paint: { "circle-radius": ["case", selected, 7, shrinking, 5, 3.5], "circle-color": fillColorRate(),
        "circle-stroke-color": ["case", selected, "#ffb000", "#111"],
        "circle-stroke-width": ["case", selected, 3, shrinking, 1.4, 0.3] } });
    // the context's lines take their colour and width per feature (always the same value), as units-line does
    // through feature-state: the lines then share one shader program, compiled while the page waits for it
    const perFeature = (value) => ["case", ["has", "layer"], value, value];
    map.addLayer({ id: "context-outline", type: "line", source: "context", filter: ["==", ["get", "layer"], "area"],
      paint: { "line-color": perFeature("#404040"),
        "line-width": ["interpolate", ["linear"], ["zoom"], 2, perFeature(0.8), 7, perFeature(2)] } });
    // one line layer for the verdict (outlined) and the selected unit: each line layer is tessellated anew
    map.addLayer({ id: "units-line", type: "line", source: "units", filter: polygons,
      paint: { "line-color": ["case", selected, "#ffb000", shrinking, "#111111", "rgba(0,0,0,0)"],
        "line-width": ["interpolate", ["linear"], ["zoom"], 2, ["case", selected, 3, shrinking, 0.5, 0],
          7, ["case", selected, 4, shrinking, 2, 0]] } });
    map.addLayer({ id: "context-maritime", type: "line", source: "context", filter: ["==", ["get", "layer"], "maritime"],
      paint: { "line-color": "#333333", "line-width": 1.1, "line-dasharray": [4, 2] } });
    map.addLayer({ id: "context-frame", type: "line", source: "context", filter: ["==", ["get", "layer"], "inset_frame"],
      paint: { "line-color": perFeature("#555555"),
        "line-width": ["interpolate", ["linear"], ["zoom"], 2, perFeature(0.9), 7, perFeature(0.9)] } });
    for (const f of geo.context.features) {
      if (f.properties.layer !== "inset_label") continue;
      const node = el("div", { class: "inset-label", "data-key": f.properties.label_key });
      const marker = new maplibregl.Marker({ element: node, anchor: "top-left" }).setLngLat(f.geometry.coordinates).addTo(map);
      S.markers.push(marker);
    }
    labelInsets();
    S.bboxes = new Map();
    for (const f of geo.units.features) {
      if (f.properties.inset) continue;
      S.bboxes.set(String(f.properties.unit_id), bbox(f.geometry));
    }
    map.fitBounds([[geo.bounds[0], geo.bounds[1]], [geo.bounds[2], geo.bounds[3]]], { padding: 20, animate: false });
    const key = "projection." + (currentDataset() && ["China", "United States"].includes(geo.country) ? geo.country : "other");
    S.projectionKey = geo.crs.indexOf("lon_0=105") >= 0 ? "projection.China" : geo.crs === "EPSG:5070" ? "projection.United States" : "projection.other";
    $("projection").textContent = t("projection.label", { words: t(S.projectionKey) });
    void key;
  }

  function labelInsets() {
    for (const m of S.markers) {
      const node = m.getElement();
      const key = node.getAttribute("data-key");
      node.textContent = t("inset." + key, { scale: 0.35 });
    }
  }

  function bbox(geometry) {
    let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
    const walk = (c) => {
      if (typeof c[0] === "number") { if (c[0] < w) w = c[0]; if (c[0] > e) e = c[0]; if (c[1] < s) s = c[1]; if (c[1] > n) n = c[1]; return; }
      for (const x of c) walk(x);
    };
    walk(geometry.coordinates);
    return [w, s, e, n];
  }

  function rateClass(rate) {
    if (rate === null || rate === undefined || !isFinite(rate)) return null;
    let k = 0;
    for (let i = 0; i < RATE_BINS.length; i++) if (rate >= RATE_BINS[i]) k = i;
    return k;
  }

  function paintUnits() {
    const map = S.map;
    if (!map.getSource("units") || !S.result) return;
    const year = yearShown();
    const statusRows = year !== null && S.timeline ? S.timeline.status : null;
    for (const u of S.result.units) {
      const cls = u.status === "insufficient_data" ? null : rateClass(u.annual_rate);
      const state = { cls: cls, shrinking: u.status === "shrinking" && year === null, selected: S.selected === u.unit_id };
      if (statusRows) {
        const row = statusRows[u.unit_id];
        state.ts = row ? STATUS_CODES[row[S.yearIndex]] || 0 : 0;
      }
      map.setFeatureState({ source: "units", id: u.unit_id }, state);
    }
    const fill = year === null ? fillColorRate() : fillColorStatus();
    map.setPaintProperty("units-fill", "fill-color", fill);
    if (map.getLayer("units-point")) map.setPaintProperty("units-point", "circle-color", fill);
    renderLegend();
  }

  function renderLegend() {
    const box = clear($("legend"));
    const year = yearShown();
    if (year === null) {
      box.appendChild(el("strong", { text: t("legend.rate") }));
      RATE_COLORS.forEach((color, i) => box.appendChild(legendRow(color, t("legend.bin" + i))));
      box.appendChild(legendRow(NO_DATA, t("legend.nodata")));
      const std = currentStandard();
      const name = std ? (S.lang === "zh" && std.name_zh ? std.name_zh : std.name) : "";
      box.appendChild(legendRow(null, t("legend.verdict", { standard: name }), "verdict"));
    } else {
      box.appendChild(el("strong", { text: t("legend.status", { year: year }) }));
      for (const [key, code] of Object.entries(STATUS_CODES)) box.appendChild(legendRow(STATUS_COLORS[code], t("status." + key)));
    }
    const geo = S.geometry;
    if (geo && geo.context.features.some((f) => f.properties.layer === "area")) {
      const level = geo.crs === "EPSG:5070" ? "state" : geo.crs.indexOf("lon_0=105") >= 0 ? "province" : "land";
      box.appendChild(legendRow(null, t("legend.area", { level: t("level." + level) }), "line"));
      if (geo.context.features.some((f) => f.properties.layer === "area" && !f.properties.in_panel)) {
        box.appendChild(legendRow(NO_DATA, t("legend.not_in_panel")));
      }
    }
    if (geo && geo.context.features.some((f) => f.properties.layer === "maritime")) box.appendChild(legendRow(null, t("legend.maritime"), "dash"));
  }

  function legendRow(color, label, kind) {
    const swatch = el("span", { class: "sw" + (kind ? " " + kind : "") });
    if (color) swatch.style.background = color;
    return el("div", {}, swatch, el("span", { text: label }));
  }

  function updateScale() {
    // the display plane is the equal-area plane at Web Mercator's equatorial resolution (dashboard.py)
    const metresPerPx = 2 * Math.PI * 6378137 / (512 * Math.pow(2, S.map.getZoom()));
    const maxKm = 120 * metresPerPx / 1000;
    const p = Math.pow(10, Math.floor(Math.log10(maxKm)));
    const km = [5, 2, 1].map((k) => k * p).find((v) => v <= maxKm) || p;
    $("scale-bar").style.width = Math.round(km * 1000 / metresPerPx) + "px";
    $("scale-label").textContent = t("scale", { km: fmt(km, 2) });
  }

  // ------------------------------------------------------------------ counts, table, downloads

  function renderCounts() {
    const box = clear($("counts"));
    if (!S.result) return;
    for (const key of ["units_total", "with_data", "shrinking", "not_shrinking", "insufficient_data", "boundary_change"]) {
      const value = S.result.counts[key];
      if (value === undefined) continue;
      box.appendChild(el("dt", { id: "count-" + key, class: key, text: fmt(value, 0), "data-value": value }));
      box.appendChild(el("dd", { class: key, text: t("count." + key) }));
    }
    const notes = clear($("notes"));
    const lines = (S.result.notes || []).slice();
    if (S.geometry && S.geometry.units_without_geometry.length) lines.push(t("no_geometry", { n: S.geometry.units_without_geometry.length }));
    if (lines.length) {
      notes.appendChild(el("h2", { text: t("notes") }));
      for (const line of lines) notes.appendChild(el("p", { text: line }));
    }
  }

  const COLUMNS = [
    { key: "name", num: false }, { key: "parent_name", num: false }, { key: "status", num: false },
    { key: "annual_rate", num: true }, { key: "severity", num: false },
  ];

  function renderTableHead() {
    const row = clear(document.querySelector("#units thead tr"));
    for (const col of COLUMNS) {
      const th = el("th", { "data-key": col.key, scope: "col", text: t("col." + col.key), tabindex: 0 });
      if (S.sort.key === col.key) th.setAttribute("aria-sort", S.sort.dir > 0 ? "ascending" : "descending");
      const go = () => { S.sort = { key: col.key, dir: S.sort.key === col.key ? -S.sort.dir : 1 }; renderTableHead(); renderTable(); };
      th.addEventListener("click", go);
      th.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
      row.appendChild(th);
    }
  }

  function visibleIds() {
    if (!$("table-in-view").checked || !S.map) return null;
    const b = S.map.getBounds();
    const ids = new Set();
    for (const [id, box] of S.bboxes) if (box[2] >= b.getWest() && box[0] <= b.getEast() && box[3] >= b.getSouth() && box[1] <= b.getNorth()) ids.add(id);
    return ids;
  }

  function filteredUnits() {
    if (!S.result) return [];
    const text = $("table-filter").value.trim().toLowerCase();
    const status = $("table-status").value;
    const inView = visibleIds();
    const rows = S.result.units.filter((u) => {
      if (status && u.status !== status) return false;
      if (inView && !inView.has(u.unit_id)) return false;
      if (!text) return true;
      return [u.unit_id, u.name, u.name_en, u.parent_name].some((v) => v && String(v).toLowerCase().includes(text));
    });
    const key = S.sort.key, dir = S.sort.dir;
    const sev = { severe: 3, moderate: 2, mild: 1, none: 0 };
    rows.sort((a, b) => {
      let x = a[key], y = b[key];
      if (key === "name") { x = unitName(a); y = unitName(b); }
      if (key === "severity") { x = sev[x] ?? -1; y = sev[y] ?? -1; }
      const xm = x === null || x === undefined, ym = y === null || y === undefined;
      if (xm || ym) return xm === ym ? 0 : xm ? 1 : -1;  // missing last either way
      if (typeof x === "number" && typeof y === "number") return (x - y) * dir;
      return String(x).localeCompare(String(y), S.lang === "zh" ? "zh-CN" : "en") * dir;
    });
    return rows;
  }

  function renderTable() {
    const body = clear(document.querySelector("#units tbody"));
    const rows = filteredUnits();
    for (const u of rows.slice(0, TABLE_LIMIT)) {
      const tr = el("tr", { "data-unit": u.unit_id, class: S.selected === u.unit_id ? "selected" : null });
      tr.appendChild(el("td", { text: unitName(u) }));
      tr.appendChild(el("td", { text: u.parent_name || "" }));
      tr.appendChild(el("td", { text: t("status." + (u.status || "none")) }));
      tr.appendChild(el("td", { class: "num", text: fmt(u.annual_rate, 2) }));
      tr.appendChild(el("td", { text: u.severity ? t("severity." + u.severity) : "" }));
      tr.addEventListener("click", () => selectUnit(u.unit_id, true));
      body.appendChild(tr);
    }
    $("table-showing").textContent = t("table.showing", { shown: fmt(Math.min(rows.length, TABLE_LIMIT), 0), total: fmt(rows.length, 0) });
  }

  function updateDownloads() {
    for (const format of ["csv", "xlsx", "geojson"]) {
      const a = $("dl-" + format);
      a.href = "/api/identify?" + query({ format: format });
    }
  }

  // ------------------------------------------------------------------ recompute

  // the names of the units come once with the geometry (S.names); each parameter setting brings only its verdicts,
  // as columns (/api/identify?format=verdicts), joined here by unit id
  function joinVerdicts(v) {
    const units = new Array(v.unit_id.length);
    for (let i = 0; i < units.length; i++) {
      const id = v.unit_id[i];
      const n = S.names.get(id);
      units[i] = { unit_id: id, name: n ? n.name : id, name_en: n ? n.name_en : null, parent_name: n ? n.parent_name : null,
        status: v.status[i], annual_rate: v.annual_rate[i], severity: v.severity[i] };
    }
    return { dataset: v.dataset, standard: v.standard, parameters: v.parameters, description: v.description,
      counts: v.counts, notes: v.notes, criteria_not_assessed: v.criteria_not_assessed, units: units };
  }

  async function recompute() {
    const mine = ++S.request;
    T.idle = false;
    mark();
    busy(true, "computing");
    updateDownloads();
    const timelineDone = loadTimeline(mine);
    try {
      const verdicts = await getJSON("/api/identify?" + query({ format: "verdicts" }));
      if (mine !== S.request) return;
      stamp("verdicts_received");
      await S.namesReady;
      if (mine !== S.request) return;
      hideError();
      S.result = joinVerdicts(verdicts);
      S.byId = new Map(S.result.units.map((u) => [u.unit_id, u]));
      renderCounts();
      // the first table waits for the first map: its rows are many boxes of text to lay out and rasterise (in
      // software too, without a GPU), and the map comes first
      if (T.firstRenderMs === null) S.tableLater = true; else renderTable();
      await S.mapReady;
      if (S.yearIndex !== null) await timelineDone;  // a year is shown: its statuses under the new setting
      if (mine !== S.request) return;
      if (S.geometry) paintUnits();
      if (S.selected) loadProfile(S.selected);
      T.pendingVersion = T.version + 1;
      T.version += 1;
      mark();
      S.map.triggerRepaint();
    } catch (error) {
      if (mine !== S.request) return;
      showError(error.message);
      T.pendingVersion = T.version + 1;
      T.version += 1;
      mark();
      S.map.triggerRepaint();
    } finally {
      if (mine === S.request) busy(false);
    }
  }

  // the status timeline (the year slider) comes beside the verdicts and never holds back the map;
  // data-timeline on <body> counts the timelines received
  async function loadTimeline(mine) {
    let timeline = null;
    try { timeline = await getJSON("/api/timeline?" + query({ lang: "en" })); } catch (error) { timeline = null; }
    if (mine !== S.request) return;
    setTimeline(timeline);
    T.timelineVersion = (T.timelineVersion || 0) + 1;
    document.body.dataset.timeline = String(T.timelineVersion);
  }

  // the geometry's answer, never a rejected promise (a prefetch nobody reads must not be an unhandled rejection)
  function fetchGeometry(dataset) {
    stamp("geometry_asked");
    return getJSON("/dashboard/geometry?dataset=" + encodeURIComponent(dataset)).then(
      (geo) => { stamp("geometry_received"); return { geo: geo }; }, (error) => ({ error: error }));
  }

  async function loadDataset() {
    T.idle = false;
    busy(true, "loading");
    S.geometry = null;
    S.geometryDone = false;
    S.selected = null;
    clear($("profile-body"));
    $("profile-hint").hidden = false;
    const dataset = S.dataset;
    let named = null;
    S.namesReady = new Promise((resolve) => { named = resolve; });
    const drawn = (async () => {
      try {
        const asked = S.prefetched && S.prefetched.dataset === dataset ? S.prefetched.answer : fetchGeometry(dataset);
        S.prefetched = null;
        const answer = await asked;
        if (answer.error) throw answer.error;
        const geo = answer.geo;
        if (dataset !== S.dataset) return;
        const n = geo.names;
        S.names = new Map(n.unit_id.map((id, i) => [id, { name: n.name[i], name_en: n.name_en[i], parent_name: n.parent_name[i] }]));
        named();
        await S.mapReady;
        stamp("map_loaded");
        if (dataset !== S.dataset) return;
        S.geometry = geo;
        installGeometry(geo);
        stamp("geometry_installed");
        updateScale();
        if (S.result) paintUnits();
      } catch (error) {
        showError(error.message);
      } finally {
        if (dataset === S.dataset) { named(); S.geometryDone = true; S.map.triggerRepaint(); }
      }
    })();
    // the verdicts are asked for at the same time as the outlines
    await Promise.all([drawn, recompute()]);
  }

  // ------------------------------------------------------------------ the timeline

  function setTimeline(timeline) {
    S.timeline = timeline && timeline.years && timeline.years.length ? timeline : null;
    const slider = $("year");
    const n = S.timeline ? S.timeline.years.length : 0;
    slider.max = String(n);  // n = the verdict over the whole period
    slider.disabled = n === 0;
    if (S.yearIndex === null || S.yearIndex >= n) { S.yearIndex = null; slider.value = String(n); }
    renderYear();
  }

  function yearShown() { return S.timeline && S.yearIndex !== null ? S.timeline.years[S.yearIndex] : null; }

  function renderYear() {
    const label = $("year-label");
    const box = clear($("year-counts"));
    if (!S.timeline) { label.textContent = t("timeline.none"); return; }
    const year = yearShown();
    label.textContent = year === null ? t("year.current") : t("year.as_of", { year: year });
    if (year === null) return;
    const row = S.timeline.counts[S.yearIndex] || {};
    for (const key of ["shrinking", "not_shrinking", "insufficient_data", "boundary_change", "entered", "exited"]) {
      if (row[key] === undefined) continue;
      box.appendChild(el("dt", { id: "year-count-" + key, text: fmt(row[key], 0) }));
      box.appendChild(el("dd", { text: t("count." + key) }));
    }
  }

  function onYear() {
    const slider = $("year");
    const n = S.timeline ? S.timeline.years.length : 0;
    const v = Number(slider.value);
    S.yearIndex = v >= n ? null : v;
    renderYear();
    T.idle = false;
    paintUnits();
    T.pendingVersion = T.version + 1;
    T.version += 1;
      mark();
    S.map.triggerRepaint();
  }

  // ------------------------------------------------------------------ selection and profile

  function selectUnit(id, fly) {
    const map = S.map;
    if (S.selected && map.getSource("units")) map.setFeatureState({ source: "units", id: S.selected }, { selected: false });
    S.selected = id;
    if (map.getSource("units")) map.setFeatureState({ source: "units", id: id }, { selected: true });
    for (const tr of document.querySelectorAll("#units tbody tr")) tr.classList.toggle("selected", tr.getAttribute("data-unit") === id);
    const row = document.querySelector('#units tbody tr[data-unit="' + CSS.escape(id) + '"]');
    if (row && !fly) row.scrollIntoView({ block: "nearest" });
    const box = S.bboxes.get(id);
    if (fly && box) map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { padding: 80, maxZoom: 8, duration: 600 });
    loadProfile(id);
  }

  async function loadProfile(id) {
    const body = $("profile-body");
    $("profile-hint").hidden = true;
    body.setAttribute("aria-busy", "true");
    try {
      const p = await getJSON("/api/units/" + encodeURIComponent(id) + "?" + query());
      if (S.selected !== id) return;
      renderProfile(p);
    } catch (error) {
      clear(body).appendChild(el("p", { class: "error", text: t("error", { detail: error.message }) }));
    } finally {
      body.removeAttribute("aria-busy");
      T.profileVersion += 1;
      mark();
    }
  }

  function section(title, content) {
    const box = el("section", { class: "profile-" + title.replace(/\W+/g, "-") });
    box.appendChild(el("h4", { text: t("profile." + title) }));
    box.appendChild(content);
    return box;
  }

  function renderProfile(p) {
    const body = clear($("profile-body"));
    const u = S.byId.get(String(p.unit_id)) || {};
    const name = S.lang === "en" && (p.name_en || u.name_en) ? (p.name_en || u.name_en) : (p.name || u.name || p.unit_id);
    body.appendChild(el("h3", { id: "profile-name", text: name }));
    const parent = p.parent_name || u.parent_name;
    body.appendChild(el("div", { class: "parent", text: [parent, p.unit_id].filter(Boolean).join(" · ") }));
    body.appendChild(el("p", {}, el("span", { id: "profile-status", class: "badge " + (p.status || ""), text: t("status." + (p.status || "none")) })));
    if (p.reason) body.appendChild(section("why", el("p", { id: "profile-reason", text: p.reason })));
    if (p.criteria && p.criteria.length) {
      const table = el("table", { id: "profile-criteria" });
      table.appendChild(el("tr", {}, el("th", { text: t("profile.criterion") }), el("th", { text: t("profile.value") }), el("th", { text: t("profile.pass") })));
      for (const c of p.criteria) {
        const pass = c.pass === true ? t("profile.yes") : c.pass === false ? t("profile.no") : t("profile.unknown");
        table.appendChild(el("tr", {}, el("td", { text: c.label || c.name }), el("td", { text: fmt(c.value, 3) }), el("td", { text: pass })));
      }
      body.appendChild(section("criteria", table));
    }
    if (p.series && p.series.length) body.appendChild(section("series", seriesChart(p.series, p.forecast)));
    if (p.forecast && p.forecast.years && p.forecast.years.length) {
      const f = p.forecast;
      const last = f.years.length - 1;
      const box = el("div", { id: "profile-forecast" });
      box.appendChild(el("p", { text: f.years[last] + ": " + fmt(f.median[last], 0) + " — " + t("profile.forecast_interval", { lower: fmt(f.lower[last], 0), upper: fmt(f.upper[last], 0) }) }));
      if (f.probability !== null && f.probability !== undefined) box.appendChild(el("p", { text: t("profile.probability", { p: fmt(f.probability * 100, 0) + " %" }) }));
      body.appendChild(section("forecast", box));
    }
    if (p.sensitivity) body.appendChild(section("sensitivity", p.sensitivity.text ? el("p", { id: "profile-sensitivity", text: p.sensitivity.text }) : keyValues(p.sensitivity)));
    body.appendChild(section("types", listOf(p.types, (x) => typeof x === "string" ? x : (x.label || x.name || x.type || JSON.stringify(x)) + (x.trigger ? " (" + x.trigger + ")" : ""))));
    const recs = el("div", { id: "profile-recommendations" });
    if (p.recommendations && p.recommendations.length) {
      for (const r of p.recommendations) {
        recs.appendChild(el("p", {}, el("strong", { text: r.title || r.id }), r.why ? el("br") : null, r.why ? document.createTextNode(r.why) : null));
      }
    } else recs.appendChild(el("p", { text: t("profile.none") }));
    body.appendChild(section("recommendations", recs));
  }

  function listOf(items, label) {
    if (!items || !items.length) return el("p", { text: t("profile.none") });
    const ul = el("ul");
    for (const x of items) ul.appendChild(el("li", { text: label(x) }));
    return ul;
  }

  function keyValues(obj) {
    if (typeof obj !== "object") return el("p", { text: fmt(obj) });
    const table = el("table");
    for (const [k, v] of Object.entries(obj)) {
      const text = v !== null && typeof v === "object" ? JSON.stringify(v) : fmt(v, 3);
      table.appendChild(el("tr", {}, el("th", { text: k }), el("td", { text: text })));
    }
    return table;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  function seriesChart(series, forecast) {
    const W = 320, H = 170, L = 64, R = 18, Tp = 8, B = 22;
    const pts = series.filter((d) => d.value !== null && d.value !== undefined && isFinite(d.value));
    const xs = pts.map((d) => d.year), ys = pts.map((d) => d.value);
    const f = forecast && forecast.years && forecast.years.length ? forecast : null;
    if (f) { xs.push(...f.years); ys.push(...f.lower.filter(isFinite), ...f.upper.filter(isFinite)); }
    const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", id: "profile-series" });
    if (!pts.length) return root;
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    const sx = (x) => L + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (W - L - R);
    const pad = (y1 - y0) * 0.08 || Math.abs(y1) * 0.05 || 1;
    const sy = (y) => Tp + (1 - (y - (y0 - pad)) / ((y1 + pad) - (y0 - pad))) * (H - Tp - B);
    root.appendChild(svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#999" }));
    for (const v of [y0, (y0 + y1) / 2, y1]) {
      root.appendChild(svg("line", { x1: L, x2: W - R, y1: sy(v), y2: sy(v), stroke: "#eee" }));
      const label = svg("text", { x: L - 4, y: sy(v) + 3, "text-anchor": "end", fill: "#555" });
      label.textContent = fmt(v, 0);
      root.appendChild(label);
    }
    for (const v of [x0, x1]) {
      const label = svg("text", { x: sx(v), y: H - 6, "text-anchor": "middle", fill: "#555" });
      label.textContent = String(v);
      root.appendChild(label);
    }
    if (f) {
      const upper = f.years.map((y, i) => sx(y) + "," + sy(f.upper[i]));
      const lower = f.years.map((y, i) => sx(y) + "," + sy(f.lower[i])).reverse();
      root.appendChild(svg("polygon", { points: upper.concat(lower).join(" "), fill: "#c6dbef", stroke: "none", class: "interval" }));
      const last = pts[pts.length - 1];
      root.appendChild(svg("polyline", { points: [sx(last.year) + "," + sy(last.value)].concat(f.years.map((y, i) => sx(y) + "," + sy(f.median[i]))).join(" "),
        fill: "none", stroke: "#2171b5", "stroke-dasharray": "4 2", "stroke-width": 1.5, class: "median" }));
    }
    root.appendChild(svg("polyline", { points: pts.map((d) => sx(d.year) + "," + sy(d.value)).join(" "), fill: "none", stroke: "#222", "stroke-width": 1.6 }));
    for (const d of pts) root.appendChild(svg("circle", { cx: sx(d.year), cy: sy(d.value), r: 2.2, fill: "#222" }));
    return root;
  }

  // ------------------------------------------------------------------ search

  function onSearch() {
    const list = $("search-results");
    const text = $("search").value.trim().toLowerCase();
    clear(list);
    if (!text || !S.result) { list.hidden = true; return; }
    const hits = [];
    for (const u of S.result.units) {
      const fields = [u.name, u.name_en, u.unit_id];
      if (fields.some((v) => v && String(v).toLowerCase().includes(text))) hits.push(u);
      if (hits.length >= 12) break;
    }
    if (!hits.length) list.appendChild(el("li", { text: t("search_none") }));
    for (const u of hits) {
      list.appendChild(el("li", { "data-unit": u.unit_id, onclick: () => { list.hidden = true; $("search").value = unitName(u); selectUnit(u.unit_id, true); } },
        el("span", { text: unitName(u) }), el("small", { text: [u.parent_name, u.unit_id].filter(Boolean).join(" · ") })));
    }
    list.hidden = false;
  }

  // ------------------------------------------------------------------ watchlist and runs

  async function loadWatchlist() {
    const list = clear($("watchlist"));
    busy(true, "computing");
    try {
      const f = await getJSON("/api/forecast?" + query());
      $("watchlist-origin").textContent = t("watchlist.origin", { origin: f.origin_year, horizon: f.horizon });
      if (!f.watchlist || !f.watchlist.length) list.appendChild(el("li", { text: t("watchlist.empty") }));
      for (const w of (f.watchlist || [])) {
        const u = S.byId.get(String(w.unit_id)) || w;
        list.appendChild(el("li", { "data-unit": w.unit_id, onclick: () => selectUnit(String(w.unit_id), true) },
          el("span", { text: unitName(u) || w.name }), document.createTextNode(" — " + fmt(w.probability * 100, 0) + " %")));
      }
    } catch (error) {
      list.appendChild(el("li", { text: t("error", { detail: error.message }) }));
    } finally { busy(false); }
  }

  async function loadRuns() {
    try { S.runs = await getJSON("/api/runs"); } catch (error) { S.runs = []; }
    const keep = { a: $("run-a").value, b: $("run-b").value };
    const a = clear($("run-a")), b = clear($("run-b"));
    $("runs-none").hidden = S.runs.length > 0;
    for (const r of S.runs) {
      const params = Object.entries(r.parameters || {}).map(([k, v]) => k + "=" + v).join(", ");
      const label = [r.run_id, (r.time || "").slice(0, 16).replace("T", " "), r.dataset, r.standard + (params ? " (" + params + ")" : ""),
        r.counts && r.counts.shrinking !== undefined ? fmt(r.counts.shrinking, 0) + " " + t("count.shrinking") : ""].filter(Boolean).join(" · ");
      a.appendChild(el("option", { value: r.run_id, text: label }));
      b.appendChild(el("option", { value: r.run_id, text: label }));
    }
    if (S.runs.length > 1) { a.selectedIndex = 1; b.selectedIndex = 0; }
    if (keep.a && S.runs.some((r) => r.run_id === keep.a)) a.value = keep.a;
    if (keep.b && S.runs.some((r) => r.run_id === keep.b)) b.value = keep.b;
  }

  async function compareRuns() {
    const box = clear($("run-diff"));
    const a = $("run-a").value, b = $("run-b").value;
    if (!a || !b) return;
    box.setAttribute("aria-busy", "true");
    try {
      const diff = await getJSON("/api/runs/" + encodeURIComponent(a) + "/diff/" + encodeURIComponent(b) + "?lang=" + S.lang);
      const c = diff.counts || {};
      box.appendChild(el("p", { id: "diff-summary", text: t("diff.summary", { a: diff.run_a, b: diff.run_b, compared: fmt(c.compared || 0, 0),
        entered: fmt(c.entered || 0, 0), left: fmt(c.left || 0, 0), more: fmt(c.more_severe || 0, 0), less: fmt(c.less_severe || 0, 0) }) }));
      for (const note of (diff.notes || [])) box.appendChild(el("p", { class: "note", text: note }));
      for (const key of ["entered", "left", "changed_severity"]) box.appendChild(diffUnits(key, diff[key] || []));
      for (const key of ["by_region", "by_parent"]) box.appendChild(diffGroups(key, diff[key] || []));
    } catch (error) {
      box.appendChild(el("p", { class: "error", text: t("error", { detail: error.message }) }));
    } finally {
      box.removeAttribute("aria-busy");
      T.diffVersion = (T.diffVersion || 0) + 1;
      document.body.dataset.diffVersion = String(T.diffVersion);
    }
  }

  // the units that entered or left the shrinking set or changed severity: one row each (data-unit), a click
  // selects the unit when it is on the map
  function diffUnits(key, items) {
    const box = el("div", { id: "diff-" + key, class: "diff-part", "data-count": items.length });
    box.appendChild(el("h4", { text: t("diff." + key) + " (" + fmt(items.length, 0) + ")" }));
    if (!items.length) { box.appendChild(el("p", { text: t("diff.empty") })); return box; }
    const table = el("table");
    table.appendChild(el("tr", {}, ...["unit", "parent", "status", "severity", "rate_a", "rate_b"].map((k) => el("th", { text: t("diff.col." + k) }))));
    const arrow = (x, y, prefix) => t(prefix + (x || "none")) + " → " + t(prefix + (y || "none"));
    for (const u of items.slice(0, 1000)) {
      const known = S.byId.get(String(u.unit_id));
      const tr = el("tr", { "data-unit": u.unit_id },
        el("td", { text: known ? unitName(known) : (u.name || u.unit_id) }), el("td", { text: u.parent_name || "" }),
        el("td", { text: arrow(u.status_a, u.status_b, "status.") }), el("td", { text: arrow(u.severity_a, u.severity_b, "severity.") }),
        el("td", { class: "num", text: fmt(u.annual_rate_a, 2) }), el("td", { class: "num", text: fmt(u.annual_rate_b, 2) }));
      if (known) tr.addEventListener("click", () => selectUnit(String(u.unit_id), true));
      table.appendChild(tr);
    }
    box.appendChild(table);
    return box;
  }

  function diffGroups(key, rows) {
    const box = el("div", { id: "diff-" + key, class: "diff-part" });
    box.appendChild(el("h4", { text: t("diff." + key) }));
    if (!rows.length) { box.appendChild(el("p", { text: t("diff.empty") })); return box; }
    const name = key === "by_region" ? "region" : "parent_name";
    const table = el("table");
    table.appendChild(el("tr", {}, el("th", { text: t(key === "by_region" ? "diff.col.region" : "diff.col.parent") }),
      ...["entered", "left", "more_severe", "less_severe", "net"].map((k) => el("th", { text: t("diff.col." + k) }))));
    for (const row of rows) {
      const label = row[name] === null || row[name] === undefined ? "–" : String(row[name]);
      const shown = key === "by_region" && S.msgs && S.msgs[S.lang] && ("region." + label) in S.msgs[S.lang] ? t("region." + label) : label;
      table.appendChild(el("tr", {}, el("td", { text: shown }),
        ...["entered", "left", "more_severe", "less_severe", "net"].map((k) => el("td", { class: "num", text: fmt(row[k], 0) }))));
    }
    box.appendChild(table);
    return box;
  }

  function showTab(name) {
    for (const b of document.querySelectorAll("#tabs button")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
    for (const tab of ["table", "watchlist", "runs"]) $("tab-" + tab).hidden = tab !== name;
    if (name === "runs") loadRuns();
  }

  // ------------------------------------------------------------------ language

  function switchLanguage(lang) {
    S.lang = lang;
    const url = new URL(window.location.href);
    url.searchParams.set("lang", lang);
    window.history.replaceState(null, "", url.toString());
    applyStrings();
    buildParams();
    renderTableHead();
    labelInsets();
    if (S.projectionKey) $("projection").textContent = t("projection.label", { words: t(S.projectionKey) });
    if (S.map) updateScale();
    if (!$("tab-runs").hidden) loadRuns();  // the runs' labels in the chosen language, the choices kept
    recompute();  // the reasons and the profile come in the chosen language
  }

  // ------------------------------------------------------------------ start

  async function start() {
    const params = new URLSearchParams(window.location.search);
    // the geometry of the dataset the address names and the page's lists are asked for first, then the map (its
    // WebGL context, style and MapLibre's worker) is made while they come
    if (params.get("dataset")) S.prefetched = { dataset: params.get("dataset"), answer: fetchGeometry(params.get("dataset")) };
    const lists = Promise.all([getJSON("/static/messages.json"), getJSON("/api/datasets"), getJSON("/api/standards")]);
    lists.catch(() => {});  // (awaited below; an error before then is not an unhandled rejection)
    await waitForMapLibre();
    createMap();
    const [msgs, datasets, standards] = await lists;
    S.msgs = msgs;
    const wanted = params.get("lang");
    S.lang = wanted === "zh" || wanted === "en" ? wanted : (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
    S.datasets = datasets;
    S.standards = standards;
    const chosen = params.get("dataset");
    S.dataset = (datasets.find((d) => d.id === chosen) || datasets.find((d) => d.id === "us-county-est") || datasets[0] || {}).id;
    chooseStandard(params.get("standard"));
    for (const p of (currentStandard() || { parameters: [] }).parameters) {
      if (params.has(p.key)) S.params[p.key] = params.get(p.key);
    }
    applyStrings();
    buildParams();
    renderTableHead();
    updateDownloads();

    $("dataset").addEventListener("change", (e) => { S.dataset = e.target.value; chooseStandard(null); fillStandardSelect(); buildParams(); S.yearIndex = null; loadDataset(); });
    $("standard").addEventListener("change", (e) => { chooseStandard(e.target.value); buildParams(); S.yearIndex = null; recompute(); });
    $("params").addEventListener("submit", (e) => e.preventDefault());
    $("reset").addEventListener("click", resetParams);
    $("lang").addEventListener("click", () => switchLanguage(S.lang === "en" ? "zh" : "en"));
    $("year").addEventListener("input", onYear);
    $("search").addEventListener("input", onSearch);
    $("search").addEventListener("keydown", (e) => {
      if (e.key === "Enter") { const first = document.querySelector("#search-results li[data-unit]"); if (first) first.click(); }
      if (e.key === "Escape") $("search-results").hidden = true;
    });
    $("table-filter").addEventListener("input", debounce(renderTable, 150));
    $("table-status").addEventListener("change", renderTable);
    $("table-in-view").addEventListener("change", renderTable);
    $("profile-close").addEventListener("click", () => {
      if (S.selected && S.map && S.map.getSource("units")) S.map.setFeatureState({ source: "units", id: S.selected }, { selected: false });
      S.selected = null;
      clear($("profile-body"));
      $("profile-hint").hidden = false;
      for (const tr of document.querySelectorAll("#units tbody tr.selected")) tr.classList.remove("selected");
    });
    $("watchlist-load").addEventListener("click", loadWatchlist);
    $("runs-compare").addEventListener("click", compareRuns);
    for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));

    stamp("started");
    await loadDataset();
  }

  function chooseStandard(wanted) {
    const d = currentDataset();
    const ids = S.standards.map((s) => s.id);
    S.standard = ids.includes(wanted) ? wanted : d && ids.includes(d.default_standard) ? d.default_standard : ids[0];
    S.params = {};
    for (const p of (currentStandard() || { parameters: [] }).parameters) S.params[p.key] = p.default;
  }

  start().catch((error) => { showError(error.message); });
})();
