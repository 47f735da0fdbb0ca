"""The dashboard page: the HTML shell, the inlined data and scripts, and the build from the BI copy."""

from __future__ import annotations

import html
import json
import os
import re
import time
from datetime import datetime
from importlib import resources
from pathlib import Path

import duckdb

from ecom_platform.lib.dashboard.data import collect
from ecom_platform.lib.dashboard.panels import PANELS, SECTIONS, Panel
from ecom_platform.lib.dashboard.source import Source, plain

TITLE = "Product Sales Dashboard"

# Panels that are lists or controls rather than charts (the rest each draw one chart).
LIST_PANELS = {"customers_at_risk", "customer_lookup", "product_forecast", "engaged_users", "model_status"}
EXPORTABLE = {"customers_at_risk", "product_forecast"}
SCRIPTS = ("core.js", "sales.js", "lists.js", "charts.js")

FILTER_BAR = """
<div id="filters">
  <label>From <input type="date" id="f-from"></label>
  <label>to <input type="date" id="f-to"></label>
  <span><button data-range="28">4 weeks</button> <button data-range="91">13 weeks</button>
    <button data-range="364">52 weeks</button> <button data-range="all">All</button></span>
  <label>Country <select id="f-country"></select></label>
  <label>Category <select id="f-category"></select></label>
  <label>Periods <select id="f-grain"><option value="day">days</option><option value="week">weeks</option>
    <option value="month">months</option></select></label>
  <button id="f-reset">Reset</button>
  <span id="category-gap"></span>
</div>"""

_e = html.escape


def expected_charts() -> list[str]:
    """Every chart the dashboard draws when all its tables have data."""
    return [p.name for p in PANELS if p.name not in LIST_PANELS]


def _model_cards(models: list[dict]) -> str:
    cards = []
    for m in models:
        ok = bool(m.get("published"))
        change = m.get("what_would_change_it")
        last = m.get("last_published_at")
        cards.append(
            f'<div class="model {"ok" if ok else "no"}" data-model="{_e(str(m["model"]))}" '
            f'data-published="{"true" if ok else "false"}"><div class="name">{_e(str(m["model"]))}'
            f'<span class="badge">{"published" if ok else "not published"}</span></div>'
            f'<div class="why">{_e(str(m.get("reason") or ""))}</div>'
            + (f'<div class="change">What would change it: {_e(str(change))}</div>' if change else "")
            + (f'<div class="metric">Its tables as last published {_e(str(last))}</div>' if not ok and last else "")
            + "</div>"
        )
    return f'<div class="models">{"".join(cards)}</div>'


def _body(p: Panel, state: dict) -> str:
    if p.name == "model_status":
        return f'<div class="list-host" data-list="{p.name}">{_model_cards(state["data"])}</div>'
    if p.name in EXPORTABLE:
        return (
            '<div class="list-tools"><span class="list-meta"></span><button class="export">Export CSV</button></div>'
            f'<div class="list-host" data-list="{p.name}"></div>'
        )
    if p.name == "customer_lookup":
        return (
            '<div class="lookup"><input type="search" list="lookup-ids" placeholder="customer id" '
            'aria-label="customer id"><datalist id="lookup-ids"></datalist><button class="go">Look up</button>'
            '<span class="lookup-hint"></span></div><div class="lookup-result" data-recs="0"></div>'
        )
    if p.name == "engaged_users":
        return (
            '<div class="lookup"><select class="dim" aria-label="dimension"></select>'
            '<select class="val" aria-label="category or brand"></select></div>'
            f'<div class="list-host" data-list="{p.name}"></div>'
        )
    if p.name in LIST_PANELS:
        return f'<div class="list-host" data-list="{p.name}"></div>'
    return f'<div class="chart" data-chart="{p.name}"></div><p class="note"></p><p class="empty-note"></p>'


def _panel_html(p: Panel, state: dict) -> str:
    cls = "panel wide" if p.wide else "panel"
    head = (
        f'<span class="src">{_e(", ".join(p.tables))}</span><h3>{_e(p.title)}</h3>'
        f'<p class="q">{_e(p.question)}</p><p class="sub">{_e(p.subtitle)}</p>'
    )
    if state["missing"]:
        return (
            f'<section class="{cls} missing" data-panel="{p.name}" data-missing="{p.name}" '
            f'data-source="{_e(p.tables[0])}">{head}<p class="na">{_e(state["missing"])}</p></section>'
        )
    stale = f'<p class="stale">{_e(state["note"])}</p>' if state["note"] else ""
    return (
        f'<section class="{cls}" data-panel="{p.name}" data-filters="{" ".join(p.filters)}">{head}'
        f'<p class="filters-applied"></p>{stale}{_body(p, state)}</section>'
    )


def _static(name: str) -> str:
    return resources.files("ecom_platform.lib.dashboard").joinpath("static", name).read_text(encoding="utf-8")


def _plotly() -> tuple[str, str]:
    """plotly.js as shipped inside the plotly package (no network), and its version."""
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    m = re.search(r"plotly\.js v([0-9][0-9.]*)", js[:2000])
    return js, (m.group(1) if m else "unknown")


def _script(text: str) -> str:
    # "</script" would end the element early; "<\/script" means the same inside a JS string.
    return "<script>" + re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE) + "</script>"


def build_dashboard(bi_db_path: Path | str, out_html: Path | str, title: str = TITLE) -> dict:
    """Write the dashboard for the BI copy at ``bi_db_path`` to ``out_html`` (atomically).

    Returns ``path``, ``charts`` (the charts with data), ``missing`` (panel -> reason),
    ``version`` (the BI version shown), ``bytes``, ``data_bytes`` and ``seconds``.
    """
    t0 = time.perf_counter()
    bi_db_path, out_html = Path(bi_db_path), Path(out_html)
    if not bi_db_path.exists():
        raise FileNotFoundError(f"BI copy {bi_db_path} does not exist: publish it first (asset bi_copy/warehouse)")
    con = duckdb.connect(str(bi_db_path), read_only=True)
    try:
        src = Source.open(con)
        bundle = collect(src)
        info = src.records("SELECT * FROM meta.publish_info LIMIT 1")[0] if src.has("meta.publish_info") else {}
    finally:
        con.close()

    states = bundle["panels"]
    missing = {name: s["missing"] for name, s in states.items() if s["missing"]}
    charts = [n for n in expected_charts() if n not in missing]
    meta = []
    if info.get("version"):
        meta.append(f"BI version <code>{_e(str(info['version']))}</code>")
    if info.get("published_at"):
        meta.append(f"published {_e(str(plain(info['published_at'])))}")
    if "pseudonymised" in info:
        meta.append("customer ids pseudonymised" if info["pseudonymised"] else "customer ids not pseudonymised")
    if bundle["sales"]:
        meta.append(f"data {bundle['sales']['start']} – {bundle['sales']['end']}")
    meta.append(f"generated {_e(datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z'))}")
    sections = []
    for section in SECTIONS:
        ps = [p for p in PANELS if p.section == section]
        inner = "".join(_panel_html(p, states[p.name]) for p in ps)
        sections.append(f'<h2 class="section">{_e(section)}</h2><div class="grid">{inner}</div>')
    plotly_js, plotly_version = _plotly()
    data_json = json.dumps(bundle, separators=(",", ":"), default=str).replace("</", "<\\/")
    app = "\n".join(_static(s) for s in SCRIPTS) + "\nsetupFilters();\nrender();\n"
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data: blob:">
<title>{_e(title)}</title>
<link rel="icon" href="data:,">
<style>{_static("dashboard.css")}</style>
</head>
<body data-charts="{len(charts)}" data-missing-panels="{len(missing)}">
<header><h1>{_e(title)}</h1><div class="meta">{" · ".join(meta)} · read-only BI copy</div></header>
{FILTER_BAR}
<main>
<div id="kpi-period"></div>
<div id="kpis" class="kpis"></div>
{"".join(sections)}
</main>
<footer><span id="render-status">charts not drawn (JavaScript disabled)</span> · charts: plotly.js {plotly_version},
embedded · hover a chart for values, drag to zoom, double-click to reset.</footer>
<script type="application/json" id="dashboard-data">{data_json}</script>
{_script(plotly_js)}
{_script(app)}
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
        "data_bytes": len(data_json.encode("utf-8")),
        "plotly_bytes": len(plotly_js.encode("utf-8")),
        "seconds": round(time.perf_counter() - t0, 3),
    }
