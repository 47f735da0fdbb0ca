/* Charts that do not follow the filters: customers, products, clickstream and models. */
"use strict";
var SEGMENT_COLORS = { "Champions": "#15803d", "Loyal": "#16a34a", "Potential Loyalist": "#65a30d", "New Customers": "#0d9488", "Promising": "#0891b2",
  "Need Attention": "#ca8a04", "About To Sleep": "#d97706", "At Risk": "#ea580c", "Can't Lose Them": "#dc2626", "Hibernating": "#9f1239", "Lost": "#64748b" };

PANELS.rfm_segments = function (el, rows) {
  var labels = rows.map(function (r) { return r.segment; });
  var traces = [
    { type: "bar", orientation: "h", name: "customers", y: labels, x: rows.map(function (r) { return r.customers; }), xaxis: "x", marker: { color: labels.map(function (s) { return SEGMENT_COLORS[s] || COLORS.blue; }) },
      hovertemplate: "%{y}: %{x:,} customers<extra></extra>" },
    { type: "bar", orientation: "h", name: "net revenue", y: labels, x: rows.map(function (r) { return r.total_net_revenue; }), xaxis: "x2", marker: { color: COLORS.grey },
      hovertemplate: "%{y}: revenue %{x:,.0f}<extra></extra>" },
  ];
  plot(el, "rfm_segments", traces, { height: 40 + 28 * rows.length, margin: { l: 130, r: 16, t: 24, b: 30 }, grid: { rows: 1, columns: 2, pattern: "independent" },
    yaxis: { autorange: "reversed" }, yaxis2: { autorange: "reversed", showticklabels: false, matches: "y" },
    xaxis: { domain: [0, 0.48], title: { text: "customers" } }, xaxis2: { domain: [0.52, 1], title: { text: "net revenue" }, gridcolor: "#eef2f7" } }, rows.length * 2);
};

PANELS.churn_risk = function (el, d) {
  var labels = d.bins.map(function (_, i) { return (i / 10).toFixed(1) + "–" + ((i + 1) / 10).toFixed(1); });
  plot(el, "churn_risk", [{ type: "bar", x: labels, y: d.bins, marker: { color: d.bins.map(function (_, i) { return i >= 5 ? "#dc2626" : i >= 3 ? "#d97706" : "#16a34a"; }) },
    hovertemplate: "probability %{x}: %{y:,} customers<extra></extra>" }], { xaxis: { title: { text: "churn probability" }, type: "category" }, yaxis: { title: { text: "customers" } } }, d.bins.length);
  el.querySelector(".note").textContent = d.bands.map(function (b) { return b.risk_band + ": " + fmtNum(b.customers) + " (avg " + fmtPct(b.avg_probability, 0) + ")"; }).join(" · ");
};

// Months not over at the data's end are hatched (their retention can only grow); cohorts have
// no cell for months they have not reached yet.
PANELS.cohort_retention = function (el, rows) {
  var end = S ? S.end : null;
  var endMonth = end ? end.slice(0, 7) : null;
  var lastDay = end ? new Date(Date.UTC(+end.slice(0, 4), +end.slice(5, 7), 0)).getUTCDate() : 0;
  var monthOver = end && +end.slice(8, 10) === lastDay;
  var cohorts = [], sizes = {}, maxM = 0;
  rows.forEach(function (r) { if (!(r.cohort_month in sizes)) { cohorts.push(r.cohort_month); sizes[r.cohort_month] = r.cohort_size; } maxM = Math.max(maxM, r.m); });
  var ylab = cohorts.map(function (c) { return c.slice(0, 7) + " (" + fmtNum(sizes[c]) + ")"; });
  var cols = []; for (var m = 1; m <= maxM; m++) cols.push(m);
  var z = cohorts.map(function () { return cols.map(function () { return null; }); });
  var text = cohorts.map(function () { return cols.map(function () { return ""; }); }), hover = cohorts.map(function () { return cols.map(function () { return ""; }); });
  var incX = [], incY = [], incT = [];
  rows.forEach(function (r) {
    if (r.m < 1) return; // month 0 is 100% by definition
    var i = cohorts.indexOf(r.cohort_month), j = r.m - 1, partial = !monthOver && r.activity_month.slice(0, 7) === endMonth;
    z[i][j] = r.retention_rate;
    text[i][j] = fmtPct(r.retention_rate, 0);
    hover[i][j] = r.cohort_month.slice(0, 7) + " +" + r.m + " months: " + fmtPct(r.retention_rate) + " of " + fmtNum(r.cohort_size) + " (" + fmtNum(r.active_customers) + " active)" + (partial ? " — month not over yet" : "");
    if (partial) { incX.push(r.m); incY.push(ylab[i]); incT.push(hover[i][j]); }
  });
  var traces = [{ type: "heatmap", x: cols, y: ylab, z: z, text: text, texttemplate: "%{text}", hovertext: hover, hoverinfo: "text",
    colorscale: [[0, "#eff6ff"], [1, "#1e3a8a"]], zmin: 0, showscale: false, xgap: 1, ygap: 1 }];
  if (incX.length) traces.push({ type: "scatter", mode: "markers", x: incX, y: incY, hovertext: incT, hoverinfo: "text", name: "month not over",
    marker: { symbol: "square-open", size: 22, color: "#d97706", line: { width: 2 } } });
  plot(el, "cohort_retention", traces, { height: 60 + 22 * cohorts.length, margin: { l: 110, r: 16, t: 8, b: 40 }, yaxis: { autorange: "reversed", type: "category", rangemode: "normal" },
    xaxis: { title: { text: "months since first order" }, dtick: 1 } }, rows.filter(function (r) { return r.m >= 1; }).length);
  var div = el.querySelector(".chart");
  div.setAttribute("data-incomplete", String(incX.length));
  div.setAttribute("data-cohorts", String(cohorts.length));
};

PANELS.forecast_vs_actual = function (el, d) {
  var fx = d.forecast.map(function (r) { return r.week; });
  var traces = [
    { type: "scatter", mode: "lines", x: fx, y: d.forecast.map(function (r) { return r.upper_80; }), line: { width: 0 }, hoverinfo: "skip", showlegend: false },
    { type: "scatter", mode: "lines", x: fx, y: d.forecast.map(function (r) { return r.lower_80; }), fill: "tonexty", fillcolor: "rgba(217,119,6,0.18)", line: { width: 0 }, name: "80% interval", hoverinfo: "skip" },
    { type: "scatter", mode: "lines+markers", name: "actual (complete weeks)", x: d.actual.map(function (r) { return r.week; }), y: d.actual.map(function (r) { return r.value; }), line: { color: COLORS.ink, width: 1.8 }, marker: { size: 4 } },
    { type: "scatter", mode: "lines+markers", name: "forecast (" + (d.forecast[0] ? d.forecast[0].model : "") + ")", x: fx, y: d.forecast.map(function (r) { return r.forecast; }), line: { color: COLORS.amber, dash: "dash", width: 2 }, marker: { size: 5 } },
  ];
  plot(el, "forecast_vs_actual", traces, { height: 300, showlegend: true, legend: { orientation: "h", y: -0.2 }, xaxis: { type: "date" } }, fx.length + d.actual.length);
};

PANELS.bestsellers = function (el, rows) {
  hbar(el, "bestsellers", rows.map(function (r) { return trunc(r.product_description || r.stock_code, 30); }), rows.map(function (r) { return r.net_revenue; }),
    { hover: rows.map(function (r) { return r.stock_code + " " + r.product_description + ": revenue " + fmtMoney(r.net_revenue) + ", " + fmtNum(r.net_units) + " units, " + fmtNum(r.orders) + " orders"; }), text: rows.map(function (r) { return fmtMoney(r.net_revenue); }) });
};

PANELS.trending_products = function (el, rows) {
  hbar(el, "trending_products", rows.map(function (r) { return trunc(r.product_description || r.stock_code, 30); }), rows.map(function (r) { return r.units_growth; }),
    { color: COLORS.green, tickformat: ".0%", text: rows.map(function (r) { return fmtPct(r.units_growth, 0); }),
      hover: rows.map(function (r) { return r.stock_code + ": " + fmtNum(r.prior_net_units) + " → " + fmtNum(r.net_units) + " units"; }) });
  if (rows[0]) el.querySelector(".note").textContent = "Period " + rows[0].period_start + " – " + rows[0].period_end + ".";
};

PANELS.frequently_bought_together = function (el, rows) {
  hbar(el, "frequently_bought_together", rows.map(function (r) { return trunc(r.a_name || r.a, 20) + " + " + trunc(r.b_name || r.b, 20); }), rows.map(function (r) { return r.lift; }),
    { color: COLORS.rose, left: 290, text: rows.map(function (r) { return "lift " + fmtNum(r.lift, 1); }), hover: rows.map(function (r) { return r.a + " + " + r.b + ": lift " + fmtNum(r.lift, 2) + ", confidence " + fmtPct(r.confidence) + ", " + fmtNum(r.co_baskets) + " baskets"; }) });
};

PANELS.funnel_overall = function (el, f) {
  plot(el, "funnel_overall", [{ type: "funnel", y: ["viewed", "carted", "purchased"], x: [f.sessions_viewed, f.sessions_carted, f.sessions_purchased],
    textinfo: "value+percent initial", marker: { color: [COLORS.blue, COLORS.amber, COLORS.green] } }], { margin: { l: 80, r: 16, t: 8, b: 20 } }, 3);
};

PANELS.category_popularity = function (el, rows) {
  var labels = rows.map(function (r) { return r.category; });
  plot(el, "category_popularity", [
    { type: "bar", orientation: "h", name: "interactions", y: labels, x: rows.map(function (r) { return r.interactions; }), marker: { color: COLORS.blue } },
    { type: "bar", orientation: "h", name: "purchases", y: labels, x: rows.map(function (r) { return r.purchases; }), marker: { color: COLORS.green }, xaxis: "x2" },
  ], { height: 60 + 26 * rows.length, margin: { l: 150, r: 16, t: 24, b: 30 }, yaxis: { autorange: "reversed" }, grid: { rows: 1, columns: 2, pattern: "coupled" },
    xaxis: { domain: [0, 0.48], title: { text: "interactions" } }, xaxis2: { domain: [0.52, 1], title: { text: "purchases" }, gridcolor: "#eef2f7" } }, rows.length * 2);
};

PANELS.price_sensitivity = function (el, rows) {
  var maxV = Math.max.apply(null, rows.map(function (r) { return r.sessions_viewed || 1; }));
  plot(el, "price_sensitivity", [{ type: "scatter", mode: "markers+text", x: rows.map(function (r) { return r.median_price; }), y: rows.map(function (r) { return r.conversion; }),
    text: rows.map(function (r) { return r.category; }), textposition: "top center", textfont: { size: 9 },
    marker: { size: rows.map(function (r) { return 8 + 22 * Math.sqrt((r.sessions_viewed || 0) / maxV); }), color: COLORS.violet, opacity: 0.7 },
    customdata: rows.map(function (r) { return [r.p25_price, r.p75_price, r.sessions_viewed]; }),
    hovertemplate: "%{text}: median price %{x:.2f} (IQR %{customdata[0]:.2f}–%{customdata[1]:.2f}), view→purchase %{y:.1%}, %{customdata[2]:,} sessions<extra></extra>" }],
  { xaxis: { title: { text: "median price" } }, yaxis: { title: { text: "view → purchase (sessions)" }, tickformat: ".0%" } }, rows.length);
};

PANELS.favourite_categories = function (el, d) {
  hbar(el, "favourite_categories", d.categories.map(function (r) { return r.name; }), d.categories.map(function (r) { return r.users; }), { color: COLORS.teal, left: 150, xtitle: "users" });
  el.querySelector(".note").textContent = "Favourite brands: " + d.brands.map(function (b) { return b.name + " (" + fmtNum(b.users) + ")"; }).join(", ") +
    ". " + fmtNum(d.users) + " users in all; look a customer up above for theirs.";
};

PANELS.model_vs_baseline = function (el, rows) {
  rows = rows.filter(function (r) { return r.metric_value !== null && r.metric_value !== undefined; });
  var labels = rows.map(function (r) { return r.model + ": " + r.primary_metric; });
  plot(el, "model_vs_baseline", [
    { type: "bar", orientation: "h", name: "champion", y: labels, x: rows.map(function (r) { return r.metric_value; }), marker: { color: COLORS.blue },
      text: rows.map(function (r) { return r.champion + " " + fmtNum(r.metric_value, 4); }), textposition: "auto", hovertemplate: "%{y}: %{x:.4f}<extra>champion</extra>" },
    { type: "bar", orientation: "h", name: "naive baseline", y: labels, x: rows.map(function (r) { return r.baseline_value; }), marker: { color: COLORS.grey },
      text: rows.map(function (r) { return r.naive_baseline ? r.naive_baseline + " " + fmtNum(r.baseline_value, 4) : "no baseline"; }), textposition: "auto", hovertemplate: "%{y}: %{x:.4f}<extra>baseline</extra>" },
  ], { barmode: "group", height: 80 + 56 * rows.length, margin: { l: 170, r: 16, t: 8, b: 30 }, yaxis: { autorange: "reversed" }, showlegend: true, legend: { orientation: "h", y: -0.12 } }, rows.length);
};

PANELS.forecast_backtest = function (el, rows) {
  hbar(el, "forecast_backtest", rows.map(function (r) { return r.model; }), rows.map(function (r) { return r.mase; }),
    { colors: rows.map(function (_, i) { return i === 0 ? COLORS.green : COLORS.grey; }), left: 140, text: rows.map(function (r) { return fmtNum(r.mase, 3); }), xtitle: "MASE (lower is better)" });
};

PANELS.ml_segments = function (el, rows) {
  hbar(el, "ml_segments", rows.map(function (r) { return r.segment; }), rows.map(function (r) { return r.customers; }), { color: COLORS.teal, left: 170, xtitle: "customers" });
};

PANELS.top_recommended_products = function (el, rows) {
  hbar(el, "top_recommended_products", rows.map(function (r) { return trunc(r.product_description || r.stock_code, 30); }), rows.map(function (r) { return r.customers; }), { color: COLORS.amber, xtitle: "customers" });
};
