/* Sales: the filter bar, the KPI cards with their comparisons, and the sales charts. */
"use strict";
var MEASURES = ["rev", "gross", "orders", "canc", "units", "new"];
var YEAR_BACK = 364; // 52 weeks: the same weekdays a year earlier

function setupFilters() {
  var bar = document.getElementById("filters");
  if (!S) { bar.innerHTML = '<span class="hint">No sales data yet: filters appear once bi.sales_country_daily has rows.</span>'; return; }
  defaultRange();
  var from = bar.querySelector("#f-from"), to = bar.querySelector("#f-to");
  [from, to].forEach(function (i) { i.min = S.start; i.max = S.end; });
  var country = bar.querySelector("#f-country"), category = bar.querySelector("#f-category"), grain = bar.querySelector("#f-grain");
  country.innerHTML = '<option value="-1">All countries</option>' + S.countries.map(function (c, i) { return '<option value="' + i + '">' + esc(c) + "</option>"; }).join("");
  category.innerHTML = '<option value="-1">All categories</option>' + S.categories.map(function (c, i) { return '<option value="' + i + '">' + esc(c) + "</option>"; }).join("");
  if (!categoryAvailable()) {
    category.disabled = true;
    category.title = DATA.category_gap || "Every product is in one category: no product catalogue to split by.";
    bar.querySelector("#category-gap").textContent = DATA.category_gap || "";
  }
  function sync() { from.value = isoDay(dayMs(STATE.from)); to.value = isoDay(dayMs(STATE.to)); grain.value = STATE.grain; }
  function apply() {
    var f = dayOf(from.value || S.start), t = dayOf(to.value || S.end);
    f = Math.max(0, Math.min(f, N_DAYS - 1)); t = Math.max(0, Math.min(t, N_DAYS - 1));
    if (f > t) { var x = f; f = t; t = x; }
    STATE.from = f; STATE.to = t; STATE.country = +country.value; STATE.category = +category.value; STATE.grain = grain.value;
    sync(); render();
  }
  [from, to, country, category, grain].forEach(function (i) { i.addEventListener("change", apply); });
  bar.querySelectorAll("button[data-range]").forEach(function (b) {
    b.addEventListener("click", function () {
      var n = b.getAttribute("data-range");
      STATE.to = N_DAYS - 1;
      STATE.from = n === "all" ? 0 : Math.max(0, N_DAYS - +n);
      sync(); render();
    });
  });
  bar.querySelector("#f-reset").addEventListener("click", function () {
    defaultRange(); country.value = "-1"; category.value = "-1"; STATE.country = -1; STATE.category = -1; STATE.grain = "week";
    sync(); render();
  });
  sync();
}

// KPI cards: the selected range against the period before it and the same dates 52 weeks earlier.
function renderKpis() {
  var host = document.getElementById("kpis");
  if (!S) { host.innerHTML = ""; return; }
  var byCat = daily(MEASURES), all = STATE.category >= 0 ? daily(["new", "canc"], false) : byCat;
  var len = STATE.to - STATE.from + 1;
  function totals(from, to) {
    if (from < 0) return null; // the comparison period starts before the data
    var t = {}; MEASURES.forEach(function (m) { t[m] = sumRange(m === "new" || m === "canc" ? all[m] : byCat[m], from, to); });
    return t;
  }
  var cur = totals(STATE.from, STATE.to), prev = totals(STATE.from - len, STATE.from - 1), ly = totals(STATE.from - YEAR_BACK, STATE.to - YEAR_BACK);
  var cards = [
    { key: "net_revenue", label: "Net revenue", v: function (t) { return t.rev; }, fmt: fmtMoney },
    { key: "orders", label: STATE.category >= 0 ? "Orders with the category" : "Orders", v: function (t) { return t.orders; }, fmt: fmtNum },
    { key: "aov", label: STATE.category >= 0 ? "Category revenue per order" : "Average order value", v: function (t) { return t.orders ? t.gross / t.orders : null; }, fmt: function (v) { return fmtNum(v, 2); } },
    { key: "units", label: "Units sold", v: function (t) { return t.units; }, fmt: fmtNum },
    { key: "new_customers", label: "New customers" + (STATE.category >= 0 ? " (all categories)" : ""), v: function (t) { return t.new; }, fmt: fmtNum },
  ];
  if (STATE.category < 0) cards.push({ key: "cancellation_rate", label: "Cancellation rate", v: function (t) { return t.orders + t.canc ? t.canc / (t.orders + t.canc) : null; }, fmt: function (v) { return fmtPct(v); }, lowerIsBetter: true });
  function delta(now, then, card) {
    if (then === null) return '<span class="delta na" title="the comparison period starts before the data">no data</span>';
    var b = card.v(then);
    if (!b || now === null) return '<span class="delta na">–</span>';
    var ch = (now - b) / Math.abs(b), good = card.lowerIsBetter ? ch < 0 : ch > 0;
    return '<span class="delta ' + (Math.abs(ch) < 0.0005 ? "flat" : good ? "up" : "down") + '" data-delta="' + ch.toFixed(6) + '">' + (ch >= 0 ? "▲ +" : "▼ ") + fmtPct(ch) + "</span>";
  }
  host.innerHTML = cards.map(function (c) {
    var now = c.v(cur);
    return '<div class="kpi" data-kpi="' + c.key + '" data-value="' + (now === null ? "" : Number(now).toFixed(6)) + '"><div class="l">' + esc(c.label) + '</div><div class="v">' + c.fmt(now) +
      '</div><div class="cmp"><span>vs previous ' + len + " days " + delta(now, prev, c) + '</span><span>vs a year earlier ' + delta(now, ly, c) + "</span></div></div>";
  }).join("");
  var period = document.getElementById("kpi-period");
  period.textContent = isoDay(dayMs(STATE.from)) + " – " + isoDay(dayMs(STATE.to)) + " (" + len + " days)" +
    (STATE.country >= 0 ? " · " + S.countries[STATE.country] : "") + (STATE.category >= 0 ? " · " + S.categories[STATE.category] : "");
}

// A per-period line: complete periods solid, incomplete ones hollow and dotted, plus optional last year.
function periodChart(el, name, value, opts) {
  opts = opts || {};
  var arrs = daily(MEASURES, opts.category !== false);
  var bs = buckets(arrs, STATE.from, STATE.to, STATE.grain);
  var xs = bs.map(function (b) { return b.label; }), ys = bs.map(function (b) { return value(b.v); });
  var traces = [{ type: "scatter", mode: "lines+markers", name: opts.label || "value", x: xs, y: ys.map(function (y, i) { return bs[i].complete ? y : null; }),
    line: { color: opts.color || COLORS.blue, width: 2 }, marker: { size: STATE.grain === "day" ? 3 : 6 }, connectgaps: false,
    hovertemplate: "%{x}: %{y:,.2f}<extra>" + esc(opts.label || "") + "</extra>" }];
  var inc = bs.map(function (b, i) { return b.complete ? null : i; }).filter(function (i) { return i !== null; });
  if (inc.length) {
    traces.push({ type: "scatter", mode: "markers", name: "incomplete period", x: inc.map(function (i) { return xs[i]; }), y: inc.map(function (i) { return ys[i]; }),
      marker: { symbol: "circle-open", size: 9, color: opts.color || COLORS.blue, line: { width: 2 } },
      customdata: inc.map(function (i) { return bs[i].days + " of " + bs[i].size + " days"; }),
      hovertemplate: "%{x}: %{y:,.2f}<br>incomplete period: %{customdata}<extra></extra>" });
  }
  if (opts.lastYear) {
    var back = bs.map(function (b) { var s = 0; for (var d = Math.max(b.first, STATE.from); d <= Math.min(b.last, STATE.to); d++) { if (d - YEAR_BACK >= 0) s += arrs.rev[d - YEAR_BACK]; } return s; });
    var has = STATE.from - YEAR_BACK >= 0;
    if (has || STATE.to - YEAR_BACK >= 0) traces.unshift({ type: "scatter", mode: "lines", name: "52 weeks earlier", x: xs, y: back, line: { color: COLORS.grey, width: 1.5, dash: "dash" }, hovertemplate: "%{x}: %{y:,.2f}<extra>52 weeks earlier</extra>" });
  }
  plot(el, name, traces, { height: opts.height || 260, showlegend: true, legend: { orientation: "h", y: -0.25 }, xaxis: { type: "category", nticks: 14 } }, xs.length);
  var div = el.querySelector(".chart");
  div.setAttribute("data-incomplete", String(inc.length));
  div.setAttribute("data-values", JSON.stringify(ys.map(function (y) { return y === null ? null : Math.round(y * 100) / 100; })));
  div.setAttribute("data-labels", JSON.stringify(xs));
}

PANELS.revenue_over_time = function (el) { periodChart(el, "revenue_over_time", function (v) { return v.rev; }, { label: "net revenue", lastYear: true, height: 300 }); };
PANELS.orders_over_time = function (el) { periodChart(el, "orders_over_time", function (v) { return v.orders; }, { label: "orders", color: COLORS.teal }); };
PANELS.aov_over_time = function (el) { periodChart(el, "aov_over_time", function (v) { return v.orders ? v.gross / v.orders : null; }, { label: "average order value", color: COLORS.violet }); };
PANELS.new_customers_over_time = function (el) { periodChart(el, "new_customers_over_time", function (v) { return v.new; }, { label: "new customers", color: COLORS.green, category: false }); };

// Net revenue over the selected dates per country or per category, the other filter applied,
// largest first; the selected one highlighted.
function revenueBars(el, name, by, opts) {
  var useCat = by === "k" || (STATE.category >= 0 && S.category_daily);
  var src = useCat ? S.category_daily : S.country_daily, labels = by === "k" ? S.categories : S.countries;
  var other = by === "k" ? "c" : "k", otherSel = by === "k" ? STATE.country : STATE.category;
  var tot = new Float64Array(labels.length);
  for (var r = 0; r < src.d.length; r++) {
    if (src.d[r] < STATE.from || src.d[r] > STATE.to || (otherSel >= 0 && src[other][r] !== otherSel)) continue;
    tot[src[by][r]] += src.rev[r];
  }
  var selected = by === "k" ? STATE.category : STATE.country;
  var idx = labels.map(function (_, i) { return i; }).filter(function (i) { return tot[i] !== 0; }).sort(function (a, b) { return tot[b] - tot[a]; }).slice(0, opts.top || labels.length);
  hbar(el, name, idx.map(function (i) { return labels[i]; }), idx.map(function (i) { return Math.round(tot[i] * 100) / 100; }),
    { colors: idx.map(function (i) { return i === selected ? COLORS.amber : opts.color; }), left: opts.left, text: idx.map(function (i) { return fmtMoney(tot[i]); }) });
}

PANELS.revenue_by_country = function (el) { revenueBars(el, "revenue_by_country", "c", { top: 12, color: COLORS.blue, left: 130 }); };
PANELS.revenue_by_category = function (el) { revenueBars(el, "revenue_by_category", "k", { color: COLORS.teal, left: 150 }); };
