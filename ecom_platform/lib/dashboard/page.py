"""The dashboard page: sections, style, the inline check script, KPIs, and the build from the BI copy."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb

from ecom_platform.lib.dashboard.charts import _as_date, _e, _f, fmt_num, fmt_pct
from ecom_platform.lib.dashboard.ml_panels import panels_ml
from ecom_platform.lib.dashboard.panels import (
    Panel,
    _Ctx,
    _qi,
    panels_clickstream,
    panels_customers,
    panels_products,
    panels_sales,
)

TITLE = "Product Sales Dashboard"


# ============================================================================ page
SECTIONS: list[tuple[str, Callable[[_Ctx], list[Panel]]]] = [
    ("Sales", panels_sales),
    ("Products", panels_products),
    ("Customers", panels_customers),
    ("Clickstream", panels_clickstream),
    ("Forecasts and models", panels_ml),
]


CSS = """
:root{--ink:#1e293b;--muted:#64748b;--line:#e2e8f0;--bg:#f5f7fa;--card:#fff;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#0f172a;color:#f8fafc;padding:22px 28px 18px}
header h1{margin:0 0 4px;font-size:22px;font-weight:650;letter-spacing:.2px}
header .meta{color:#cbd5e1;font-size:12.5px}
header .meta code{color:#e2e8f0}
main{padding:18px 28px 28px;max-width:1500px;margin:0 auto}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin:0 0 8px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.kpi .v{font-size:21px;font-weight:650}
.kpi .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.4px}
h2.section{font-size:15px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted);margin:24px 0 10px;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:14px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px 10px;min-width:0}
.panel.wide{grid-column:1/-1}
.panel h3{margin:0;font-size:15px;font-weight:620}
.panel .sub{margin:2px 0 8px;color:var(--muted);font-size:12.5px}
.panel .src{float:right;color:var(--muted);font:11.5px ui-monospace,SFMono-Regular,Menlo,monospace}
.panel.missing{background:repeating-linear-gradient(135deg,#fff,#fff 10px,#f8fafc 10px,#f8fafc 20px);border-style:dashed}
.panel.missing .na{margin:18px 0 22px;padding:12px 14px;border-radius:8px;background:#fef3c7;color:#92400e;font-weight:560}
svg.chart{width:100%;height:auto;display:block;overflow:visible}
svg .grid{stroke:var(--line);stroke-width:1}
svg .axis{stroke:#94a3b8;stroke-width:1}
svg .ref{stroke:#94a3b8;stroke-width:1;stroke-dasharray:4 4}
svg .line{fill:none;stroke-width:1.8;stroke-linejoin:round}
svg .pt{opacity:0}
svg .pt:hover{opacity:1}
svg .bar:hover,svg .cell:hover,svg .dot:hover{opacity:.75}
svg text{fill:var(--ink);font-size:11px}
svg .tick{fill:var(--muted);font-size:10.5px}
svg .label{font-size:11.5px}
svg .value{fill:var(--muted);font-size:11px}
svg .small{font-size:10px}
svg .legend{fill:var(--muted);font-size:11px}
svg .annot{fill:#4c1d95;font-size:10.5px}
svg .axis-title{fill:var(--muted);font-size:11px;font-style:italic}
svg .cellv{fill:#1e3a8a;font-size:9.5px}
svg .cellv.light{fill:#fff}
.hint{color:var(--muted);font-size:12px;margin:6px 0 2px}
table.mini{border-collapse:collapse;font-size:12px;margin:8px 0 4px;width:100%}
table.mini th,table.mini td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left}
footer{color:var(--muted);font-size:12px;padding:8px 28px 24px;max-width:1500px;margin:0 auto}
@media (max-width:560px){.grid{grid-template-columns:1fr}main{padding:12px}}
"""


# After layout: every chart must have its marks and a size. Result in the footer and on each
# chart (data-rendered-*); a console error names the charts that failed.
SCRIPT = """
(function () {
  var charts = document.querySelectorAll('svg[data-chart]');
  var bad = [];
  for (var i = 0; i < charts.length; i++) {
    var s = charts[i];
    var marks = s.querySelectorAll('.mark').length;
    var box = s.getBoundingClientRect();
    s.setAttribute('data-rendered-marks', String(marks));
    s.setAttribute('data-rendered-size', Math.round(box.width) + 'x' + Math.round(box.height));
    if (!(marks > 0 && marks === Number(s.getAttribute('data-points')) && box.width > 0 && box.height > 0)) {
      bad.push(s.getAttribute('data-chart'));
    }
  }
  var missing = document.querySelectorAll('[data-missing]').length;
  var status = document.getElementById('render-status');
  status.textContent = (charts.length - bad.length) + ' of ' + charts.length + ' charts rendered' +
    (missing ? ', ' + missing + ' panel(s) not yet available' : '') +
    (bad.length ? '; NOT rendered: ' + bad.join(', ') : '');
  document.body.setAttribute('data-render-ok', bad.length ? 'false' : 'true');
  if (bad.length) { console.error('dashboard charts not rendered: ' + bad.join(', ')); }
})();
"""


def _panel_html(p: Panel) -> str:
    cls = "panel wide" if p.wide else "panel"
    src = f'<span class="src">{_e(p.source)}</span>'
    head = f"{src}<h3>{_e(p.title)}</h3>"
    if p.missing or not p.svg or p.points <= 0:
        reason = p.missing or f"Not yet available: {p.source} has no data for this chart."
        return (
            f'<section class="{cls} missing" data-missing="{_e(p.name)}" data-source="{_e(p.source)}">{head}'
            f'<p class="sub">{_e(p.subtitle)}</p><p class="na">{_e(reason)}</p>{p.note}</section>'
        )
    return (
        f'<section class="{cls}" id="{_e(p.name)}">{head}<p class="sub">{_e(p.subtitle)}</p>{p.svg}{p.note}</section>'
    )


def _kpis(ctx: _Ctx) -> str:
    tiles = []
    if ctx.has("bi.sales_daily"):
        r = ctx.q(
            """SELECT min(sales_date), max(sales_date), sum(net_revenue), sum(gross_revenue), sum(orders),
                      sum(cancellations), sum(net_units) FROM bi.sales_daily"""
        )[0]
        aov = (_f(r[3]) / r[4]) if r[4] else None
        canc = (r[5] / (r[4] + r[5])) if (r[4] or 0) + (r[5] or 0) else None
        tiles += [
            ("net revenue", fmt_num(r[2])),
            ("orders", fmt_num(r[4])),
            ("average order value", fmt_num(aov)),
            ("units sold", fmt_num(r[6])),
            ("cancellation rate", fmt_pct(canc)),
            ("period", f"{_as_date(r[0]):%d %b %Y} – {_as_date(r[1]):%d %b %Y}"),
        ]
    if ctx.has("bi.customer_rfm"):
        tiles.append(("scored customers", fmt_num(ctx.q("SELECT count(*) FROM bi.customer_rfm")[0][0])))
    if ctx.has("ml.churn_scores"):
        band = ctx.pick("ml.churn_scores", "risk_band")
        p = ctx.pick("ml.churn_scores", "churn_probability", "probability", "score")
        if band:
            n = ctx.q(
                f"SELECT count(*) FILTER (WHERE lower(CAST({_qi(band)} AS VARCHAR)) = 'high') FROM ml.churn_scores"
            )[0][0]
            tiles.append(("high churn risk", fmt_num(n)))
        elif p:
            n = ctx.q(f"SELECT count(*) FILTER (WHERE {_qi(p)} >= 0.7) FROM ml.churn_scores")[0][0]
            tiles.append(("churn risk ≥ 70%", fmt_num(n)))
    return "".join(
        f'<div class="kpi"><div class="l">{_e(label)}</div><div class="v">{_e(v)}</div></div>' for label, v in tiles
    )


def _read_catalog(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, list[str]], dict[str, int]]:
    cols: dict[str, list[str]] = {}
    for schema, table, col in con.execute(
        """SELECT table_schema, table_name, column_name FROM information_schema.columns
           WHERE table_schema IN ('bi', 'ml', 'meta') ORDER BY table_schema, table_name, ordinal_position"""
    ).fetchall():
        cols.setdefault(f"{schema}.{table}", []).append(col)
    rows = {}
    for t in cols:
        s, n = t.split(".", 1)
        rows[t] = int(con.execute(f"SELECT count(*) FROM {_qi(s)}.{_qi(n)}").fetchone()[0])
    return cols, rows


def build_dashboard(bi_db_path: Path | str, out_html: Path | str, title: str = TITLE) -> dict:
    """Write the dashboard for the BI copy at ``bi_db_path`` to ``out_html`` (atomically).

    Returns ``path``, ``charts`` (name -> data points), ``missing`` (name -> reason),
    ``version`` (the BI version shown), ``bytes`` and ``seconds``.
    """
    import time

    t0 = time.perf_counter()
    bi_db_path = Path(bi_db_path)
    out_html = Path(out_html)
    if not bi_db_path.exists():
        raise FileNotFoundError(f"BI copy {bi_db_path} does not exist: publish it first (asset bi_copy/warehouse)")
    con = duckdb.connect(str(bi_db_path), read_only=True)
    try:
        cols, rows = _read_catalog(con)
        ctx = _Ctx(con, cols, rows)
        ctx.load_status()
        info = {}
        if ctx.has("meta.publish_info"):
            r = con.execute("SELECT * FROM meta.publish_info LIMIT 1")
            names = [d[0] for d in r.description]
            info = dict(zip(names, r.fetchone()))
        sections = [(name, fn(ctx)) for name, fn in SECTIONS]
        for _, ps in sections:  # a model that did not publish this time: say the data is older
            for p in ps:
                if p.source.startswith("ml.") and not p.missing and (gap := ctx.model_gap(p.source)):
                    st = next(v for v in ctx.statuses.values() if p.source.split(".", 1)[1] in (v.get("tables") or ""))
                    when = st.get("last_published_at")
                    p.note += (
                        f'<p class="hint">Showing the version published {_e(when or "earlier")}; '
                        f"the latest run did not publish. {_e(gap)}</p>"
                    )
        kpis = _kpis(ctx)
    finally:
        con.close()

    charts = {p.name: p.points for _, ps in sections for p in ps if not p.missing and p.svg and p.points > 0}
    missing = {p.name: (p.missing or "no data") for _, ps in sections for p in ps if p.name not in charts}
    meta_bits = []
    if info.get("version"):
        meta_bits.append(f"BI version <code>{_e(info['version'])}</code>")
    if info.get("published_at"):
        pa = info["published_at"]
        meta_bits.append(f"published {_e(pa.strftime('%Y-%m-%d %H:%M UTC') if hasattr(pa, 'strftime') else pa)}")
    if "pseudonymised" in info:
        meta_bits.append("customer ids pseudonymised" if info["pseudonymised"] else "customer ids not pseudonymised")
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    meta_bits.append(f"generated {_e(generated)}")
    body = [f'<div class="kpis">{kpis}</div>'] if kpis else []
    for name, ps in sections:
        body.append(f'<h2 class="section">{_e(name)}</h2><div class="grid">{"".join(_panel_html(p) for p in ps)}</div>')
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{_e(title)}</title>
<link rel="icon" href="data:,">
<style>{CSS}</style>
</head>
<body data-charts="{len(charts)}" data-missing-panels="{len(missing)}">
<header><h1>{_e(title)}</h1><div class="meta">{" · ".join(meta_bits)} · read-only BI copy, no live warehouse access</div></header>
<main>
{"".join(body)}
</main>
<footer><span id="render-status">charts not checked (JavaScript disabled)</span> · Hover a bar, point or cell for its values.</footer>
<script>{SCRIPT}</script>
</body>
</html>
"""
    out_html.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_html.with_name(f".{out_html.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out_html)
    return {
        "path": str(out_html),
        "charts": charts,
        "missing": missing,
        "version": info.get("version"),
        "bytes": len(page.encode("utf-8")),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def expected_charts() -> list[str]:
    """Every chart name the dashboard can draw (all sources present)."""
    return [
        "revenue_over_time",
        "orders_over_time",
        "aov_over_time",
        "bestsellers",
        "trending_products",
        "rfm_segment_customers",
        "rfm_segment_value",
        "cohort_retention",
        "top_categories_interactions",
        "top_brands_interactions",
        "funnel_overall",
        "category_price_scatter",
        "churn_risk",
        "forecast_vs_actual",
        "forecast_backtest",
        "model_vs_baseline",
        "ml_segments",
        "frequently_bought_together",
        "top_recommended_products",
    ]
