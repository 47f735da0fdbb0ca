/* The dashboard's core: the data, the filters, periods and formatting, and the render loop.
 * Panels register a function in PANELS[name](el, data); render() calls each one
 * whose panel is on the page. Everything runs offline: the data is inlined as JSON. */
"use strict";
var DATA = JSON.parse(document.getElementById("dashboard-data").textContent);
var PANELS = {};
var DAY = 86400000;
var PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud", "lasso2d", "select2d"] };
var COLORS = { blue: "#2563eb", amber: "#d97706", teal: "#0d9488", violet: "#7c3aed", rose: "#e11d48", grey: "#94a3b8", green: "#16a34a", ink: "#1e293b" };

// ---------------------------------------------------------------- formatting
function fmtNum(v, digits) {
  if (v === null || v === undefined || isNaN(v)) return "–";
  return Number(v).toLocaleString("en-GB", { maximumFractionDigits: digits === undefined ? 0 : digits, minimumFractionDigits: digits || 0 });
}
function fmtMoney(v) { return fmtNum(v, Math.abs(v) < 100 ? 2 : 0); }
function fmtPct(v, digits) { return v === null || v === undefined || isNaN(v) ? "–" : (v * 100).toFixed(digits === undefined ? 1 : digits) + "%"; }
function esc(s) { return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; }); }
function trunc(s, n) { s = String(s || ""); return s.length > n ? s.slice(0, n - 1) + "…" : s; }

// ---------------------------------------------------------------- days and periods
var S = DATA.sales;
function parseDay(iso) { return Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)); }
function isoDay(ms) { return new Date(ms).toISOString().slice(0, 10); }
var START = S ? parseDay(S.start) : 0;
var N_DAYS = S ? Math.round((parseDay(S.end) - START) / DAY) + 1 : 0;
function dayMs(d) { return START + d * DAY; }
function dayOf(iso) { return Math.round((parseDay(iso) - START) / DAY); }
// The calendar period a day falls in: [first day, last day] as day offsets, and its label.
function periodOf(d, grain) {
  var ms = dayMs(d), dt = new Date(ms);
  if (grain === "day") return { key: d, first: d, last: d, label: isoDay(ms) };
  if (grain === "week") {
    var back = (dt.getUTCDay() + 6) % 7; // Monday weeks
    return { key: d - back, first: d - back, last: d - back + 6, label: isoDay(ms - back * DAY) };
  }
  var y = dt.getUTCFullYear(), m = dt.getUTCMonth();
  var first = Math.round((Date.UTC(y, m, 1) - START) / DAY), last = Math.round((Date.UTC(y, m + 1, 1) - START) / DAY) - 1;
  return { key: first, first: first, last: last, label: isoDay(Date.UTC(y, m, 1)).slice(0, 7) };
}

// ---------------------------------------------------------------- filters
var STATE = { from: 0, to: Math.max(N_DAYS - 1, 0), country: -1, category: -1, grain: "week" };
function defaultRange() {
  STATE.to = N_DAYS - 1;
  STATE.from = Math.max(0, N_DAYS - 91); // the last 13 weeks: the KPI cards compare them with the 13 before and a year earlier
}
// Daily sums of the measures under the country and category filters (category: the category cube).
function daily(measures, useCategory) {
  var out = {}, i, m;
  for (i = 0; i < measures.length; i++) out[measures[i]] = new Float64Array(N_DAYS);
  var cat = useCategory !== false && STATE.category >= 0 && S.category_daily;
  var src = cat ? S.category_daily : S.country_daily;
  var n = src.d.length;
  for (var r = 0; r < n; r++) {
    if (STATE.country >= 0 && src.c[r] !== STATE.country) continue;
    if (cat && src.k[r] !== STATE.category) continue;
    for (i = 0; i < measures.length; i++) { m = measures[i]; if (src[m]) out[m][src.d[r]] += src[m][r] || 0; }
  }
  return out;
}
function sumRange(arr, from, to) {
  var s = 0;
  for (var d = Math.max(from, 0); d <= Math.min(to, N_DAYS - 1); d++) s += arr[d];
  return s;
}
// Bucket daily arrays into the grain's periods inside [from, to]; a period is incomplete when
// some of its calendar days fall outside the data or the selected range.
function buckets(arrs, from, to, grain) {
  var out = [], cur = null;
  for (var d = from; d <= to; d++) {
    var p = periodOf(d, grain);
    if (!cur || cur.key !== p.key) {
      cur = { key: p.key, label: p.label, first: p.first, last: p.last, days: 0, v: {} };
      for (var k in arrs) cur.v[k] = 0;
      out.push(cur);
    }
    cur.days++;
    for (var m in arrs) cur.v[m] += arrs[m][d];
  }
  out.forEach(function (b) { b.size = b.last - b.first + 1; b.complete = b.days === b.size; });
  return out;
}
function categoryAvailable() { return S && S.categories.length > 1; }
function activeFilters(panelFilters) {
  var f = [];
  if (panelFilters.indexOf("date") >= 0) f.push(isoDay(dayMs(STATE.from)) + " – " + isoDay(dayMs(STATE.to)));
  if (panelFilters.indexOf("country") >= 0 && STATE.country >= 0) f.push(S.countries[STATE.country]);
  if (panelFilters.indexOf("category") >= 0 && STATE.category >= 0) f.push(S.categories[STATE.category]);
  return f;
}

// ---------------------------------------------------------------- charts
function plot(el, name, traces, layout, points) {
  var div = el.querySelector(".chart");
  var base = { margin: { l: 56, r: 16, t: 8, b: 40 }, height: 280, font: { family: "system-ui, sans-serif", size: 11, color: "#1e293b" },
    paper_bgcolor: "#fff", plot_bgcolor: "#fff", hovermode: "closest", showlegend: false,
    xaxis: { gridcolor: "#eef2f7", automargin: true }, yaxis: { gridcolor: "#eef2f7", automargin: true, rangemode: "tozero" } };
  for (var k in layout) base[k] = (typeof layout[k] === "object" && !Array.isArray(layout[k]) && base[k]) ? Object.assign({}, base[k], layout[k]) : layout[k];
  Plotly.react(div, traces, base, PLOT_CONFIG);
  div.setAttribute("data-points", String(points));
  div.setAttribute("data-empty", points ? "false" : "true");
  var note = el.querySelector(".empty-note");
  if (note) note.textContent = points ? "" : "Nothing to show for these filters.";
}
function hbar(el, name, labels, values, opts) {
  opts = opts || {};
  var n = labels.length;
  plot(el, name, [{ type: "bar", orientation: "h", y: labels.slice().reverse(), x: values.slice().reverse(),
    marker: { color: opts.colors ? opts.colors.slice().reverse() : (opts.color || COLORS.blue) },
    text: opts.text ? opts.text.slice().reverse() : undefined, textposition: "auto", cliponaxis: false,
    hovertext: opts.hover ? opts.hover.slice().reverse() : undefined, hoverinfo: opts.hover ? "text" : "x+y" }],
    { height: Math.max(200, 26 * n + 60), margin: { l: opts.left || 200, r: 24, t: 8, b: 36 }, xaxis: { title: { text: opts.xtitle || "" }, tickformat: opts.tickformat || "" } }, n);
}

// ---------------------------------------------------------------- tables
// A sortable table: cols = [{key, label, fmt, num}], rows = array of objects.
function table(host, cols, rows, opts) {
  opts = opts || {};
  var sort = host._sort || opts.sort || null;
  if (sort) {
    var c = sort.key, dir = sort.dir;
    rows = rows.slice().sort(function (a, b) {
      var x = a[c], y = b[c];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  }
  host._rows = rows;
  var head = cols.map(function (c) {
    var mark = sort && sort.key === c.key ? (sort.dir > 0 ? " ▲" : " ▼") : "";
    return '<th data-key="' + c.key + '"' + (c.num ? ' class="num"' : "") + ">" + esc(c.label) + mark + "</th>";
  }).join("");
  var shown = rows.slice(0, opts.limit || rows.length);
  var body = shown.map(function (r, i) {
    return '<tr data-row="' + i + '"' + (opts.rowId ? ' data-id="' + esc(r[opts.rowId]) + '"' : "") + ">" + cols.map(function (c) {
      var v = r[c.key];
      return "<td" + (c.num ? ' class="num"' : "") + ">" + esc(c.fmt ? c.fmt(v) : (v === null || v === undefined ? "–" : v)) + "</td>";
    }).join("") + "</tr>";
  }).join("");
  host.innerHTML = '<table class="list"><thead><tr>' + head + "</tr></thead><tbody>" + body + "</tbody></table>";
  host.setAttribute("data-rows", String(rows.length));
  host.querySelectorAll("th").forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      var cur = host._sort || opts.sort || {};
      host._sort = { key: key, dir: cur.key === key ? -cur.dir : (cols.filter(function (c) { return c.key === key; })[0].num ? -1 : 1) };
      table(host, cols, opts.source ? opts.source() : rows, opts);
    });
  });
  if (opts.onRow) host.querySelectorAll("tbody tr").forEach(function (tr) {
    tr.addEventListener("click", function () { opts.onRow(host._rows[+tr.getAttribute("data-row")]); });
  });
}
function csvCell(v) {
  if (v === null || v === undefined) return "";
  var s = String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
function downloadCsv(filename, cols, rows) {
  var lines = [cols.map(function (c) { return csvCell(c.key); }).join(",")];
  rows.forEach(function (r) { lines.push(cols.map(function (c) { return csvCell(r[c.key]); }).join(",")); });
  var blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
  var a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
// Column-wise data ({col: [..]}) as row objects.
function rowsOf(cols) {
  var keys = Object.keys(cols), n = keys.length ? cols[keys[0]].length : 0, out = [];
  for (var i = 0; i < n; i++) { var r = {}; for (var k = 0; k < keys.length; k++) r[keys[k]] = cols[keys[k]][i]; out.push(r); }
  return out;
}

// ---------------------------------------------------------------- the loop
function panelEl(name) { return document.querySelector('section[data-panel="' + name + '"]'); }
function render() {
  var bad = [];
  try { renderKpis(); } catch (e) { bad.push("kpis"); console.error("dashboard KPI cards failed: " + (e && e.stack || e)); }
  document.querySelectorAll("section[data-panel]:not([data-missing])").forEach(function (el) {
    var name = el.getAttribute("data-panel");
    var fn = PANELS[name];
    try {
      if (!fn) throw new Error("no renderer");
      fn(el, DATA.panels[name] ? DATA.panels[name].data : null);
      var filters = (el.getAttribute("data-filters") || "").split(" ").filter(Boolean);
      var tag = el.querySelector(".filters-applied");
      if (tag) tag.textContent = filters.length ? "Filtered: " + (activeFilters(filters).join(" · ") || "all") : "";
    } catch (e) {
      bad.push(name);
      console.error("dashboard panel " + name + " failed: " + (e && e.stack || e));
    }
  });
  var charts = document.querySelectorAll("[data-chart]");
  var drawn = 0;
  charts.forEach(function (c) {
    var box = c.getBoundingClientRect();
    var ok = (+c.getAttribute("data-points") > 0 || c.getAttribute("data-empty") === "true") && box.width > 0 && box.height > 0;
    c.setAttribute("data-rendered", ok ? "true" : "false");
    if (ok) drawn++; else bad.push(c.getAttribute("data-chart"));
  });
  var missing = document.querySelectorAll("[data-missing]").length;
  document.getElementById("render-status").textContent = drawn + " of " + charts.length + " charts drawn" +
    (missing ? ", " + missing + " panel(s) without data (reason shown)" : "") + (bad.length ? "; NOT drawn: " + bad.join(", ") : "");
  document.body.setAttribute("data-render-ok", bad.length ? "false" : "true");
  document.body.setAttribute("data-render-count", String(+(document.body.getAttribute("data-render-count") || 0) + 1));
  if (bad.length) console.error("dashboard panels not drawn: " + bad.join(", "));
}
