/* Lists a person can act on: customers at risk, the customer look-up, stock to reorder,
 * engaged users, and each model's status. */
"use strict";

var AT_RISK_COLS = [
  { key: "risk_rank", label: "#", num: true },
  { key: "customer_id", label: "customer" },
  { key: "country", label: "country" },
  { key: "rfm_segment", label: "RFM segment" },
  { key: "churn_probability", label: "churn prob.", num: true, fmt: function (v) { return fmtPct(v, 0); } },
  { key: "last_order_date", label: "last order" },
  { key: "order_count", label: "orders", num: true },
  { key: "net_revenue", label: "revenue", num: true, fmt: fmtMoney },
  { key: "revenue_at_risk", label: "revenue at risk", num: true, fmt: fmtMoney },
  { key: "top_drivers", label: "top drivers", fmt: function (v) { return trunc(v, 70); } },
];

PANELS.customers_at_risk = function (el, data) {
  var all = el._all || (el._all = rowsOf(data.rows));
  function visible() {
    return STATE.country < 0 ? all : all.filter(function (r) { return r.country === S.countries[STATE.country]; });
  }
  var host = el.querySelector(".list-host");
  table(host, AT_RISK_COLS, visible(), { limit: 50, rowId: "customer_id", source: visible, onRow: function (r) { lookup(r.customer_id); } });
  var rows = host._rows;
  el.querySelector(".list-meta").textContent = rows.length + " customer(s) " + (STATE.country >= 0 ? "in " + S.countries[STATE.country] : "") +
    "; the 50 first shown, all in the CSV" + (data.total > all.length ? " (the list holds the top " + all.length + " of " + data.total + " by revenue at risk)" : "") + ".";
  var btn = el.querySelector("button.export");
  btn.onclick = function () { downloadCsv("customers_at_risk.csv", AT_RISK_COLS, host._rows); };
};

function lookup(id) {
  var el = panelEl("customer_lookup");
  if (!el || el.hasAttribute("data-missing")) return;
  el.querySelector("input").value = id;
  showCustomer(el, DATA.panels.customer_lookup.data, String(id).trim());
  el.scrollIntoView({ block: "nearest" });
}

function showCustomer(el, data, id) {
  var out = el.querySelector(".lookup-result");
  var i = data.ids.indexOf(id);
  out.setAttribute("data-customer", id);
  if (!id) { out.innerHTML = ""; out.setAttribute("data-recs", "0"); return; }
  if (i < 0) {
    out.innerHTML = '<p class="na">No recommendations for customer ' + esc(id) + ": the look-up covers the " + fmtNum(data.ids.length) +
      " customers with recommendations (of " + fmtNum(data.customers_total) + ").</p>";
    out.setAttribute("data-recs", "0");
    return;
  }
  function f(k) { return data[k] ? data[k][i] : null; }
  var facts = [];
  if (f("segment")) facts.push("RFM segment <b>" + esc(f("segment")) + "</b>");
  if (f("country")) facts.push(esc(f("country")));
  if (f("orders") !== null && f("orders") !== undefined) facts.push(fmtNum(f("orders")) + " orders, revenue " + fmtMoney(f("net_revenue")));
  if (f("churn_probability") !== null && f("churn_probability") !== undefined) facts.push("churn risk <b>" + fmtPct(f("churn_probability"), 0) + "</b> (" + esc(f("risk_band")) + ")");
  if (f("favourite_category")) facts.push("favourite category <b>" + esc(f("favourite_category")) + "</b>" + (f("favourite_brand") ? ", brand <b>" + esc(f("favourite_brand")) + "</b>" : ""));
  var recs = data.recs[i], rows = [];
  for (var k = 0; k < recs.length; k += 3) {
    var p = data.products[recs[k]];
    rows.push({ rank: k / 3 + 1, stock_code: p[0], product: p[1], reason: data.reasons[recs[k + 1]], score: recs[k + 2] });
  }
  out.innerHTML = '<p class="facts">' + facts.join(" · ") + '</p><div class="recs"></div>';
  table(out.querySelector(".recs"), [
    { key: "rank", label: "#", num: true }, { key: "stock_code", label: "product" }, { key: "product", label: "description" },
    { key: "reason", label: "why" }, { key: "score", label: "score", num: true, fmt: function (v) { return fmtNum(v, 3); } },
  ], rows);
  out.setAttribute("data-recs", String(rows.length));
}

PANELS.customer_lookup = function (el, data) {
  if (el._ready) return;
  el._ready = true;
  var input = el.querySelector("input"), list = el.querySelector("datalist");
  list.innerHTML = data.ids.slice(0, 500).map(function (id) { return '<option value="' + esc(id) + '">'; }).join("");
  function go() { showCustomer(el, data, input.value.trim()); }
  el.querySelector("button.go").addEventListener("click", go);
  input.addEventListener("keydown", function (e) { if (e.key === "Enter") go(); });
  el.querySelector(".lookup-hint").textContent = "Covers " + fmtNum(data.ids.length) + " customers with recommendations" +
    (data.customers_total > data.ids.length ? " of " + fmtNum(data.customers_total) : "") + "; click a customer at risk to look them up. Try " + data.ids[0] + ".";
};

var FORECAST_COLS = [
  { key: "revenue_rank", label: "rank", num: true },
  { key: "stock_code", label: "product" },
  { key: "product_description", label: "description", fmt: function (v) { return trunc(v, 36); } },
  { key: "category", label: "category" },
  { key: "units_last_4_weeks", label: "sold, last 4 wk", num: true, fmt: fmtNum },
  { key: "forecast_next_4_weeks", label: "forecast, next 4 wk", num: true, fmt: fmtNum },
  { key: "lower_80_next_4_weeks", label: "80% low", num: true, fmt: fmtNum },
  { key: "upper_80_next_4_weeks", label: "80% high", num: true, fmt: fmtNum },
  { key: "safety_stock", label: "safety stock", num: true, fmt: fmtNum },
  { key: "reorder_point_units", label: "reorder point", num: true, fmt: fmtNum },
  { key: "lead_time_weeks", label: "lead time (wk)", num: true, fmt: function (v) { return fmtNum(v, 1); } },
];

PANELS.product_forecast = function (el, data) {
  function visible() {
    return STATE.category < 0 ? data.rows : data.rows.filter(function (r) { return r.category === S.categories[STATE.category]; });
  }
  var host = el.querySelector(".list-host");
  table(host, FORECAST_COLS, visible(), { limit: 25, source: visible });
  var r0 = data.rows[0] || {};
  el.querySelector(".list-meta").textContent = host._rows.length + " product(s); forecast weeks from " + (r0.first_forecast_week || "?") +
    ", service level " + fmtPct(r0.service_level, 0) + ", model " + (r0.model || "?") + "; the 25 first shown, all in the CSV.";
  el.querySelector("button.export").onclick = function () { downloadCsv("product_forecast.csv", FORECAST_COLS, host._rows); };
};

PANELS.engaged_users = function (el, data) {
  var rows = el._rows || (el._rows = rowsOf(data));
  var dim = el.querySelector("select.dim"), val = el.querySelector("select.val");
  function values() {
    var seen = {}, out = [];
    rows.forEach(function (r) { if (r.dimension === dim.value && !seen[r.dimension_value]) { seen[r.dimension_value] = 1; out.push(r.dimension_value); } });
    return out.sort();
  }
  function fill() { val.innerHTML = values().map(function (v) { return '<option value="' + esc(v) + '">' + esc(v) + "</option>"; }).join(""); }
  function show() {
    table(el.querySelector(".list-host"), [
      { key: "engagement_rank", label: "#", num: true }, { key: "user_id", label: "user" }, { key: "interactions", label: "interactions", num: true, fmt: fmtNum },
      { key: "views", label: "views", num: true }, { key: "carts", label: "carts", num: true }, { key: "purchases", label: "purchases", num: true },
      { key: "purchase_revenue", label: "purchase value", num: true, fmt: fmtMoney },
    ], rows.filter(function (r) { return r.dimension === dim.value && r.dimension_value === val.value; }));
  }
  if (!el._ready) {
    el._ready = true;
    var dims = []; rows.forEach(function (r) { if (dims.indexOf(r.dimension) < 0) dims.push(r.dimension); });
    dim.innerHTML = dims.map(function (d) { return "<option>" + esc(d) + "</option>"; }).join("");
    fill();
    dim.addEventListener("change", function () { fill(); show(); });
    val.addEventListener("change", show);
  }
  show();
};

// Drawn on the server (the cards need no script); counted here like the other lists.
PANELS.model_status = function (el, data) {
  el.querySelector(".list-host").setAttribute("data-rows", String(el.querySelectorAll(".model").length));
};
