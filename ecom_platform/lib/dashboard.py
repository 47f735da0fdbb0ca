"""The Product Sales Dashboard: one self-contained HTML file built from the BI copy.

:func:`build_dashboard` reads the published BI copy (never the live warehouse) through a
read-only connection and writes one HTML file with inline CSS, inline SVG charts drawn
here in Python and a few lines of inline JavaScript (no library, no network: the page
carries a Content-Security-Policy that forbids loading anything).

Every chart is an ``<svg data-chart="<name>" data-points="<n>">`` whose ``n`` data marks
carry the class ``mark`` (with a hover tooltip). A panel whose source table is missing or
empty is drawn as a visible "Not yet available" box with ``data-missing="<name>"`` and
``data-source="<schema.table>"`` instead. The inline script checks after layout that each
chart has its marks and a non-zero size, records ``data-rendered-marks`` and
``data-rendered-size`` on it, shows the result in the footer and logs a console error
when a chart did not render (the browser test relies on that).

Columns are picked by name (extra columns are ignored), so the ML tables can grow.
No Dagster imports.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

TITLE = "Product Sales Dashboard"
W = 640  # SVG user units of a normal panel; every chart scales to its panel width
WIDE = 1300  # full-width panels: wider viewBox so text keeps its size
PALETTE = {
    "blue": "#2563eb",
    "teal": "#0d9488",
    "amber": "#d97706",
    "rose": "#e11d48",
    "violet": "#7c3aed",
    "grey": "#94a3b8",
    "green": "#16a34a",
    "ink": "#1e293b",
    "muted": "#64748b",
    "grid": "#e2e8f0",
}
UNKNOWN = ("unknown", "", "none", "null")


# ============================================================================ formatting
def _f(v) -> float | None:
    if v is None:
        return None
    if isinstance(v, Decimal):
        return float(v)
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else x


def fmt_num(v, digits: int = 1) -> str:
    x = _f(v)
    if x is None:
        return "–"
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.{digits}f}B"
    if a >= 1e6:
        return f"{x / 1e6:.{digits}f}M"
    if a >= 1e4:
        return f"{x / 1e3:.{digits}f}k"
    if a >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}"


def fmt_pct(v, digits: int = 1) -> str:
    x = _f(v)
    return "–" if x is None else f"{x * 100:.{digits}f}%"


def fmt_ratio(v) -> str:
    x = _f(v)
    return "–" if x is None else f"{x:.3f}"


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def _trunc(s, n: int = 34) -> str:
    s = "" if s is None else str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def _as_date(v) -> date | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi:
        ticks.append(ticks[-1] + step)
    return ticks


class _Lin:
    """Linear scale."""

    def __init__(self, d0: float, d1: float, r0: float, r1: float):
        self.d0, self.d1, self.r0, self.r1 = d0, d1, r0, r1

    def __call__(self, v: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)


def _svg_open(name: str, points: int, height: int, label: str, extra: str = "", width: int = W) -> str:
    return (
        f'<svg class="chart" data-chart="{_e(name)}" data-points="{int(points)}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_e(label)}" preserveAspectRatio="xMidYMid meet"{extra}>'
    )


def _text(x, y, s, cls: str = "", anchor: str = "start", extra: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}{extra}>{_e(s)}</text>'


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> str:
    out = []
    for label, color in items:
        out.append(f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="10" height="10" rx="2" fill="{color}"/>')
        out.append(_text(x + 14, y + 1, label, "legend"))
        x += 22 + 6.5 * len(label)
    return "".join(out)


# ============================================================================ charts
def line_chart(
    name: str,
    xs: Sequence[date],
    series: Sequence[dict],
    y_fmt: Callable = fmt_num,
    height: int = 230,
    band: dict | None = None,
    label: str = "",
    y_zero: bool = True,
    width: int = W,
) -> tuple[str, int]:
    """Date x axis; ``series``: dicts(label, ys, color, dash, xs optional); ``band``: xs, lo, hi, color."""
    ml, mr, mt, mb = 56, 14, 22, 26
    all_x = [d for s in series for d in (s.get("xs") or xs)] + list(band["xs"] if band else [])
    all_x = [d for d in all_x if d is not None]
    all_y = [_f(v) for s in series for v in s["ys"]] + (
        [_f(v) for v in band["lo"]] + [_f(v) for v in band["hi"]] if band else []
    )
    all_y = [v for v in all_y if v is not None]
    npts = sum(1 for s in series for v in s["ys"] if _f(v) is not None)
    if not all_x or not all_y:
        return "", 0
    x0, x1 = min(all_x).toordinal(), max(all_x).toordinal()
    lo, hi = min(all_y), max(all_y)
    if y_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    ticks = _nice_ticks(lo, hi)
    sx = _Lin(x0, x1, ml, width - mr)
    sy = _Lin(ticks[0], ticks[-1], height - mb, mt)
    out = [_svg_open(name, npts, height, label, width=width)]
    for t in ticks:
        y = sy(t)
        out.append(f'<line class="grid" x1="{ml}" x2="{width - mr}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(_text(ml - 6, y + 3.5, y_fmt(t), "tick", "end"))
    out.append(_date_axis(min(all_x), max(all_x), sx, height - mb))
    if band:
        pts_top = [(sx(d.toordinal()), sy(_f(h))) for d, h in zip(band["xs"], band["hi"]) if _f(h) is not None]
        pts_bot = [(sx(d.toordinal()), sy(_f(lo))) for d, lo in zip(band["xs"], band["lo"]) if _f(lo) is not None]
        if pts_top and pts_bot:
            poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts_top + pts_bot[::-1])
            out.append(
                f'<polygon class="band" points="{poly}" fill="{band.get("color", PALETTE["amber"])}" fill-opacity="0.18"/>'
            )
    for s in series:
        sxs = s.get("xs") or xs
        color = s.get("color", PALETTE["blue"])
        segs, cur = [], []
        for d, v in zip(sxs, s["ys"]):
            fv = _f(v)
            if fv is None or d is None:
                if cur:
                    segs.append(cur)
                cur = []
                continue
            cur.append((sx(d.toordinal()), sy(fv)))
        if cur:
            segs.append(cur)
        dash = ' stroke-dasharray="5 4"' if s.get("dash") else ""
        for seg in segs:
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
            out.append(f'<polyline class="line" points="{pts}" stroke="{color}"{dash}/>')
        r = 2.2 if len(sxs) > 120 else 3
        for d, v in zip(sxs, s["ys"]):
            fv = _f(v)
            if fv is None or d is None:
                continue
            out.append(
                f'<circle class="mark pt" cx="{sx(d.toordinal()):.1f}" cy="{sy(fv):.1f}" r="{r}" fill="{color}">'
                f"<title>{_e(s['label'])} · {d.isoformat()}: {_e(y_fmt(fv))}</title></circle>"
            )
    if len(series) > 1 or band:
        items = [(s["label"], s.get("color", PALETTE["blue"])) for s in series]
        if band:
            items.append((band.get("label", "80% interval"), band.get("color", PALETTE["amber"])))
        out.append(_legend(items, ml + 4, 12))
    out.append("</svg>")
    return "".join(out), npts


def _date_axis(d0: date, d1: date, sx: _Lin, y: float) -> str:
    out = [
        f'<line class="axis" x1="{sx(d0.toordinal()):.1f}" x2="{sx(d1.toordinal()):.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
    ]
    span = (d1 - d0).days
    months = 1 if span <= 550 else 3 if span <= 1500 else 12
    m = date(d0.year, d0.month, 1)
    if m < d0:
        m = _add_months(m, 1)
    ticks = []
    while m <= d1:
        if (m.month - 1) % months == 0:
            ticks.append(m)
        m = _add_months(m, 1)
    if len(ticks) > 14:
        ticks = ticks[:: math.ceil(len(ticks) / 14)]
    for t in ticks:
        x = sx(t.toordinal())
        out.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{y:.1f}" y2="{y + 4:.1f}"/>')
        lab = t.strftime("%b") if t.month != 1 or months == 12 else t.strftime("%b %Y")
        if months == 12:
            lab = str(t.year)
        out.append(_text(x, y + 15, lab, "tick", "middle"))
    if span <= 40 and not ticks:
        out.append(_text(sx(d0.toordinal()), y + 15, d0.isoformat(), "tick", "start"))
    return "".join(out)


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def hbar_chart(
    name: str,
    labels: Sequence[str],
    values: Sequence,
    fmt: Callable = fmt_num,
    color: str = PALETTE["blue"],
    label: str = "",
    tooltips: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    label_width: int = 200,
    width: int = W,
) -> tuple[str, int]:
    """Horizontal bars, one per label, in the given order."""
    vals = [_f(v) for v in values]
    rows = [(lab, v, i) for i, (lab, v) in enumerate(zip(labels, vals)) if v is not None]
    if not rows:
        return "", 0
    bh, gap, mt = 18, 6, 6
    height = mt + len(rows) * (bh + gap) + 4
    ml, mr = label_width, 64
    lo = min(0.0, min(v for _, v, _ in rows))
    hi = max(0.0, max(v for _, v, _ in rows)) or 1.0
    sx = _Lin(lo, hi, ml, width - mr)
    out = [_svg_open(name, len(rows), height, label, width=width)]
    x0 = sx(0)
    out.append(f'<line class="axis" x1="{x0:.1f}" x2="{x0:.1f}" y1="{mt - 2}" y2="{height - 2}"/>')
    for k, (lab, v, i) in enumerate(rows):
        y = mt + k * (bh + gap)
        xa, xb = sorted((x0, sx(v)))
        c = colors[i] if colors else color
        tip = tooltips[i] if tooltips else f"{lab}: {fmt(v)}"
        out.append(
            f'<rect class="mark bar" x="{xa:.1f}" y="{y}" width="{max(xb - xa, 0.8):.1f}" height="{bh}" rx="3" fill="{c}">'
            f"<title>{_e(tip)}</title></rect>"
        )
        out.append(_text(ml - 8, y + bh - 5, _trunc(lab, int(label_width / 7)), "label", "end"))
        out.append(_text(xb + 5, y + bh - 5, fmt(v), "value"))
    out.append("</svg>")
    return "".join(out), len(rows)


def grouped_hbar_chart(
    name: str,
    labels: Sequence[str],
    groups: Sequence[tuple[str, Sequence, str]],
    fmt: Callable = fmt_ratio,
    label: str = "",
    label_width: int = 230,
    width: int = W,
) -> tuple[str, int]:
    """Several bars per label (e.g. model vs baseline); ``groups``: (name, values, color)."""
    if not labels:
        return "", 0
    bh, inner, gap, mt = 12, 2, 10, 24
    ng = len(groups)
    row_h = ng * (bh + inner) + gap
    height = mt + len(labels) * row_h + 4
    ml, mr = label_width, 64
    allv = [_f(v) for _, vs, _ in groups for v in vs if _f(v) is not None]
    if not allv:
        return "", 0
    lo, hi = min(0.0, min(allv)), max(0.0, max(allv)) or 1.0
    sx = _Lin(lo, hi, ml, width - mr)
    x0 = sx(0)
    marks = 0
    body = []
    for k, lab in enumerate(labels):
        y = mt + k * row_h
        body.append(_text(ml - 8, y + ng * (bh + inner) / 2 + 4, _trunc(lab, int(label_width / 7)), "label", "end"))
        for g, (gname, vs, color) in enumerate(groups):
            v = _f(vs[k]) if k < len(vs) else None
            if v is None:
                continue
            yy = y + g * (bh + inner)
            xa, xb = sorted((x0, sx(v)))
            body.append(
                f'<rect class="mark bar" x="{xa:.1f}" y="{yy}" width="{max(xb - xa, 0.8):.1f}" height="{bh}" rx="2" fill="{color}">'
                f"<title>{_e(lab)} · {_e(gname)}: {_e(fmt(v))}</title></rect>"
            )
            body.append(_text(xb + 5, yy + bh - 2, fmt(v), "value small"))
            marks += 1
    out = [_svg_open(name, marks, height, label, width=width)]
    out.append(f'<line class="axis" x1="{x0:.1f}" x2="{x0:.1f}" y1="{mt - 4}" y2="{height - 2}"/>')
    out.append(_legend([(g, c) for g, _, c in groups], ml, 12))
    out.extend(body)
    out.append("</svg>")
    return "".join(out), marks


def vbar_chart(
    name: str,
    labels: Sequence[str],
    values: Sequence,
    fmt: Callable = fmt_num,
    colors: Sequence[str] | None = None,
    color: str = PALETTE["blue"],
    height: int = 220,
    label: str = "",
    tooltips: Sequence[str] | None = None,
    ref_line: tuple[float, str] | None = None,
    width: int = W,
) -> tuple[str, int]:
    vals = [_f(v) for v in values]
    if not labels or all(v is None for v in vals):
        return "", 0
    ml, mr, mt, mb = 52, 10, 18, 34
    present = [v for v in vals if v is not None]
    lo, hi = min(0.0, min(present)), max(0.0, max(present))
    if ref_line:
        hi = max(hi, ref_line[0])
    ticks = _nice_ticks(lo, hi)
    sy = _Lin(ticks[0], ticks[-1], height - mb, mt)
    n = len(labels)
    slot = (width - ml - mr) / n
    bw = max(min(slot * 0.7, 60), 2)
    out = [_svg_open(name, sum(v is not None for v in vals), height, label, width=width)]
    for t in ticks:
        y = sy(t)
        out.append(f'<line class="grid" x1="{ml}" x2="{width - mr}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(_text(ml - 6, y + 3.5, fmt(t), "tick", "end"))
    y0 = sy(0)
    for i, (lab, v) in enumerate(zip(labels, vals)):
        cx = ml + slot * (i + 0.5)
        if v is not None:
            ya, yb = sorted((y0, sy(v)))
            c = colors[i] if colors else color
            tip = tooltips[i] if tooltips else f"{lab}: {fmt(v)}"
            out.append(
                f'<rect class="mark bar" x="{cx - bw / 2:.1f}" y="{ya:.1f}" width="{bw:.1f}" height="{max(yb - ya, 0.8):.1f}" rx="2" fill="{c}">'
                f"<title>{_e(tip)}</title></rect>"
            )
            if n <= 12:
                out.append(_text(cx, ya - 4, fmt(v), "value small", "middle"))
        out.append(_text(cx, height - mb + 14, _trunc(lab, max(int(slot / 6), 4)), "tick", "middle"))
    out.append(f'<line class="axis" x1="{ml}" x2="{width - mr}" y1="{y0:.1f}" y2="{y0:.1f}"/>')
    if ref_line:
        y = sy(ref_line[0])
        out.append(f'<line class="ref" x1="{ml}" x2="{width - mr}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(_text(width - mr, y - 4, ref_line[1], "tick", "end"))
    out.append("</svg>")
    return "".join(out), sum(v is not None for v in vals)


def scatter_chart(
    name: str,
    xs: Sequence,
    ys: Sequence,
    labels: Sequence[str],
    sizes: Sequence | None = None,
    x_title: str = "",
    y_title: str = "",
    fmt: Callable = fmt_num,
    diagonal: bool = True,
    annotate: int = 6,
    height: int = 300,
    label: str = "",
    tooltips: Sequence[str] | None = None,
    width: int = W,
) -> tuple[str, int]:
    pts = [(_f(x), _f(y), i) for i, (x, y) in enumerate(zip(xs, ys))]
    pts = [(x, y, i) for x, y, i in pts if x is not None and y is not None]
    if not pts:
        return "", 0
    ml, mr, mt, mb = 56, 16, 14, 40
    hi = max(max(x for x, _, _ in pts), max(y for _, y, _ in pts))
    lo = min(0.0, min(x for x, _, _ in pts), min(y for _, y, _ in pts))
    tx = _nice_ticks(lo, hi)
    sx = _Lin(tx[0], tx[-1], ml, width - mr)
    sy = _Lin(tx[0], tx[-1], height - mb, mt)
    sz = [_f(s) or 0 for s in sizes] if sizes else None
    smax = max(sz) if sz else 0
    out = [_svg_open(name, len(pts), height, label, width=width)]
    for t in tx:
        out.append(f'<line class="grid" x1="{ml}" x2="{width - mr}" y1="{sy(t):.1f}" y2="{sy(t):.1f}"/>')
        out.append(_text(ml - 6, sy(t) + 3.5, fmt(t), "tick", "end"))
        out.append(f'<line class="grid" x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{mt}" y2="{height - mb}"/>')
        out.append(_text(sx(t), height - mb + 14, fmt(t), "tick", "middle"))
    if diagonal:
        out.append(
            f'<line class="ref" x1="{sx(tx[0]):.1f}" y1="{sy(tx[0]):.1f}" x2="{sx(tx[-1]):.1f}" y2="{sy(tx[-1]):.1f}"/>'
        )
    out.append(_text((ml + width - mr) / 2, height - 6, x_title, "axis-title", "middle"))
    out.append(_text(ml + 4, mt + 10, y_title, "axis-title"))
    order = sorted(pts, key=lambda p: -(sz[p[2]] if sz else 0))
    for x, y, i in order:
        r = 3 + (9 * math.sqrt(sz[i] / smax) if sz and smax > 0 else 2)
        tip = tooltips[i] if tooltips else f"{labels[i]}: {fmt(x)} / {fmt(y)}"
        out.append(
            f'<circle class="mark dot" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="{r:.1f}" fill="{PALETTE["violet"]}" fill-opacity="0.45" stroke="{PALETTE["violet"]}">'
            f"<title>{_e(tip)}</title></circle>"
        )
    placed: list[tuple[float, float, float, float]] = []
    for x, y, i in order:
        if len(placed) >= annotate:
            break
        text = _trunc(labels[i], 26)
        bx, by, bw, bh = sx(x) + 6, sy(y) - 16, 6.0 * len(text), 13.0
        if any(bx < px + pw and px < bx + bw and by < py + ph and py < by + bh for px, py, pw, ph in placed):
            continue  # would overlap a label already placed: the tooltip still has it
        placed.append((bx, by, bw, bh))
        out.append(_text(bx, by + 10, text, "annot"))
    out.append("</svg>")
    return "".join(out), len(pts)


def heatmap_chart(
    name: str,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    cells: dict[tuple[int, int], float],
    fmt: Callable = fmt_pct,
    label: str = "",
    tooltips: dict[tuple[int, int], str] | None = None,
    vmax: float | None = None,
    width: int = W,
) -> tuple[str, int]:
    if not cells:
        return "", 0
    ml, mt, mr = 70, 22, 8
    nr, nc = len(row_labels), len(col_labels)
    cw = (width - ml - mr) / max(nc, 1)
    ch = 18
    height = mt + nr * ch + 6
    top = vmax if vmax else max(cells.values()) or 1.0
    out = [_svg_open(name, len(cells), height, label, width=width)]
    for j, lab in enumerate(col_labels):
        out.append(_text(ml + cw * (j + 0.5), mt - 8, lab, "tick", "middle"))
    for i, lab in enumerate(row_labels):
        out.append(_text(ml - 6, mt + i * ch + ch - 5, lab, "tick", "end"))
    for (i, j), v in sorted(cells.items()):
        t = max(0.0, min(1.0, v / top)) if top else 0.0
        fill = _blend("#eff6ff", "#1d4ed8", t)
        tip = tooltips.get((i, j)) if tooltips else f"{row_labels[i]} +{col_labels[j]}: {fmt(v)}"
        out.append(
            f'<rect class="mark cell" x="{ml + j * cw:.1f}" y="{mt + i * ch}" width="{cw - 1:.1f}" height="{ch - 1}" fill="{fill}">'
            f"<title>{_e(tip)}</title></rect>"
        )
        if cw >= 30:
            cls = "cellv light" if t > 0.55 else "cellv"
            out.append(_text(ml + j * cw + cw / 2, mt + i * ch + ch - 5, fmt(v, 0), cls, "middle"))
    out.append("</svg>")
    return "".join(out), len(cells)


def _blend(c0: str, c1: str, t: float) -> str:
    a = [int(c0[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(c1[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


# ============================================================================ panels
@dataclass
class Panel:
    name: str
    title: str
    source: str  # schema.table(s) it reads
    subtitle: str = ""
    svg: str = ""
    points: int = 0
    missing: str | None = None  # visible reason when not available
    note: str = ""  # extra HTML under the chart
    wide: bool = False


@dataclass
class _Ctx:
    con: duckdb.DuckDBPyConnection
    tables: dict[str, list[str]] = field(default_factory=dict)  # "schema.table" -> columns
    rows: dict[str, int] = field(default_factory=dict)
    # ml.model_status rows by model, and bi.data_sources rows by input (empty when absent)
    statuses: dict[str, dict] = field(default_factory=dict)
    sources: dict[str, dict] = field(default_factory=dict)

    def load_status(self) -> None:
        for table, attr, key in (("ml.model_status", "statuses", "model"), ("bi.data_sources", "sources", "source")):
            if self.has(table):
                cur = self.con.execute(f"SELECT * FROM {table}")
                names = [d[0] for d in cur.description]
                getattr(self, attr).update({r[names.index(key)]: dict(zip(names, r)) for r in cur.fetchall()})

    def input_gap(self, source: str) -> str | None:
        """ "No events file has landed ..." when that optional input has no file loaded."""
        src = self.sources.get(source)
        if src is None or src.get("files_loaded"):
            return None
        return (
            f"No {source} file has landed: drop {source} exports into {src['landing_folder']} "
            f"to fill this panel (it fills: {src['fills']})."
        )

    def model_gap(self, table: str) -> str | None:
        """The reason the model that writes ``ml.<table>`` has not published it."""
        name = table.split(".", 1)[1]
        for model, st in self.statuses.items():
            if name in [t.strip() for t in (st.get("tables") or "").split(",")] and not st.get("published"):
                change = st.get("what_would_change_it")
                return f"Model {model} not published: {st['reason']}." + (
                    f" What would change it: {change}." if change else ""
                )
        return None

    def has(self, table: str) -> bool:
        return self.rows.get(table, 0) > 0

    def cols(self, table: str) -> list[str]:
        return self.tables.get(table, [])

    def pick(self, table: str, *names: str) -> str | None:
        lower = {c.lower(): c for c in self.cols(table)}
        for n in names:
            if n.lower() in lower:
                return lower[n.lower()]
        return None

    def q(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()


def _qi(c: str) -> str:
    return '"' + c.replace('"', '""') + '"'


# the optional input whose absence leaves a table empty
TABLE_INPUT = {
    "bi.category_popularity": "events",
    "bi.funnel_conversion": "events",
    "bi.category_price_stats": "events",
    "bi.user_engagement": "events",
    "bi.user_top_category_brand": "events",
}


def _missing_reason(ctx: _Ctx, table: str) -> str:
    if table.startswith("ml.") and (gap := ctx.model_gap(table)):
        return gap
    if table in TABLE_INPUT and not ctx.has(table) and (gap := ctx.input_gap(TABLE_INPUT[table])):
        return gap
    if table not in ctx.tables:
        if table.startswith("ml."):
            return f"Not yet available: {table} is not in the BI copy yet (the ML assets have not published it)."
        return f"Not yet available: {table} is not in the BI copy."
    return f"Not yet available: {table} has no rows yet."


def _need(ctx: _Ctx, panel: Panel, *tables: str, columns: dict[str, Sequence[str]] | None = None) -> bool:
    for t in tables:
        if not ctx.has(t):
            panel.missing = _missing_reason(ctx, t)
            return False
    for t, cols in (columns or {}).items():
        absent = [c for c in cols if c is not None and ctx.pick(t, c) is None]
        if absent:
            panel.missing = f"Not yet available: {t} lacks column(s) {', '.join(absent)}."
            return False
    return True


def _weekly_sales(ctx: _Ctx) -> list[tuple]:
    """(week_start, net_revenue, gross_revenue, orders) over complete Monday weeks."""
    return ctx.q(
        """
        SELECT CAST(date_trunc('week', sales_date) AS DATE) AS wk,
               sum(net_revenue), sum(gross_revenue), sum(orders), count(*) AS days
        FROM bi.sales_daily GROUP BY 1 HAVING count(*) = 7 ORDER BY 1
        """
    )


def panels_sales(ctx: _Ctx) -> list[Panel]:
    rev = Panel(
        "revenue_over_time",
        "Revenue over time",
        "bi.sales_daily",
        "Net merchandise revenue per day and its 7-day average (net of cancellations).",
        wide=True,
    )
    orders = Panel(
        "orders_over_time",
        "Orders per week",
        "bi.sales_daily",
        "Non-cancelled invoices with merchandise, complete Monday weeks.",
    )
    aov = Panel(
        "aov_over_time",
        "Average order value per week",
        "bi.sales_daily",
        "Gross revenue / orders, complete Monday weeks.",
    )
    if not _need(ctx, rev, "bi.sales_daily"):
        orders.missing = aov.missing = rev.missing
        return [rev, orders, aov]
    daily = ctx.q("SELECT sales_date, net_revenue FROM bi.sales_daily ORDER BY sales_date")
    xs = [_as_date(r[0]) for r in daily]
    ys = [_f(r[1]) for r in daily]
    ma = []
    for i in range(len(ys)):
        win = [v for v in ys[max(0, i - 6) : i + 1] if v is not None]
        ma.append(sum(win) / len(win) if len(win) == 7 else None)
    rev.svg, rev.points = line_chart(
        "revenue_over_time",
        xs,
        [
            {"label": "net revenue", "ys": ys, "color": PALETTE["blue"]},
            {"label": "7-day average", "ys": ma, "color": PALETTE["amber"]},
        ],
        label="Daily net revenue",
        width=WIDE,
        height=250,
    )
    weekly = _weekly_sales(ctx)
    wx = [_as_date(r[0]) for r in weekly]
    orders.svg, orders.points = line_chart(
        "orders_over_time",
        wx,
        [{"label": "orders", "ys": [r[3] for r in weekly], "color": PALETTE["teal"]}],
        label="Weekly orders",
    )
    aov.svg, aov.points = line_chart(
        "aov_over_time",
        wx,
        [{"label": "AOV", "ys": [(_f(r[2]) / r[3]) if r[3] else None for r in weekly], "color": PALETTE["violet"]}],
        label="Weekly average order value",
        y_zero=True,
    )
    for p in (orders, aov):
        if not p.points:
            p.missing = "Not yet available: bi.sales_daily has no complete week yet."
    return [rev, orders, aov]


def panels_products(ctx: _Ctx) -> list[Panel]:
    best = Panel("bestsellers", "Bestsellers", "bi.product_bestsellers", "Top 10 products by all-time net revenue.")
    trend = Panel(
        "trending_products",
        "Trending products",
        "bi.product_trending",
        "Top 10 by unit growth against the prior period (minimum volume in both periods).",
    )
    if _need(ctx, best, "bi.product_bestsellers"):
        rows = ctx.q(
            """SELECT stock_code, product_description, net_revenue, net_units, orders, customers
               FROM bi.product_bestsellers ORDER BY revenue_rank LIMIT 10"""
        )
        best.svg, best.points = hbar_chart(
            "bestsellers",
            [r[1] or r[0] for r in rows],
            [r[2] for r in rows],
            tooltips=[
                f"{r[0]} {r[1]}: revenue {fmt_num(r[2])}, {fmt_num(r[3])} units, {fmt_num(r[4])} orders, "
                f"{fmt_num(r[5])} customers"
                for r in rows
            ],
            label="Bestsellers by net revenue",
        )
    if _need(ctx, trend, "bi.product_trending"):
        rows = ctx.q(
            """SELECT stock_code, product_description, units_growth, net_units, prior_net_units,
                      period_start, period_end
               FROM bi.product_trending ORDER BY trend_rank LIMIT 10"""
        )
        trend.svg, trend.points = hbar_chart(
            "trending_products",
            [r[1] or r[0] for r in rows],
            [r[2] for r in rows],
            fmt=lambda v: fmt_pct(v, 0),
            color=PALETTE["green"],
            tooltips=[f"{r[0]} {r[1]}: {fmt_num(r[4])} → {fmt_num(r[3])} units ({fmt_pct(r[2], 0)})" for r in rows],
            label="Trending products by unit growth",
        )
        if rows and rows[0][5]:
            trend.subtitle += f" Period {_as_date(rows[0][5])} – {_as_date(rows[0][6])}."
    return [best, trend]


SEGMENT_COLORS = {
    "Champions": "#15803d",
    "Loyal": "#16a34a",
    "Potential Loyalist": "#65a30d",
    "New Customers": "#0d9488",
    "Promising": "#0891b2",
    "Need Attention": "#ca8a04",
    "About To Sleep": "#d97706",
    "At Risk": "#ea580c",
    "Can't Lose Them": "#dc2626",
    "Hibernating": "#9f1239",
    "Lost": "#64748b",
}


def panels_customers(ctx: _Ctx) -> list[Panel]:
    size = Panel(
        "rfm_segment_customers", "RFM segments: customers", "bi.rfm_segments", "Scored customers per RFM segment."
    )
    value = Panel("rfm_segment_value", "RFM segments: value", "bi.rfm_segments", "Total net revenue per RFM segment.")
    cohort = Panel(
        "cohort_retention",
        "Cohort retention",
        "bi.cohort_retention",
        "Share of each monthly acquisition cohort ordering again N months later.",
        wide=True,
    )
    if _need(ctx, size, "bi.rfm_segments"):
        rows = ctx.q(
            """SELECT segment, customers, customer_share, total_net_revenue, avg_net_revenue,
                      avg_recency_days, avg_order_count
               FROM bi.rfm_segments ORDER BY customers DESC, segment"""
        )
        colors = [SEGMENT_COLORS.get(r[0], PALETTE["blue"]) for r in rows]
        tips = [
            f"{r[0]}: {fmt_num(r[1])} customers ({fmt_pct(r[2])}), revenue {fmt_num(r[3])}, "
            f"avg {fmt_num(r[4])}, recency {fmt_num(r[5])} d, {fmt_num(r[6])} orders"
            for r in rows
        ]
        size.svg, size.points = hbar_chart(
            "rfm_segment_customers",
            [r[0] for r in rows],
            [r[1] for r in rows],
            colors=colors,
            tooltips=tips,
            label="Customers per RFM segment",
            label_width=150,
        )
        by_value = sorted(range(len(rows)), key=lambda i: -(_f(rows[i][3]) or 0))
        value.svg, value.points = hbar_chart(
            "rfm_segment_value",
            [rows[i][0] for i in by_value],
            [rows[i][3] for i in by_value],
            colors=[colors[i] for i in by_value],
            tooltips=[tips[i] for i in by_value],
            label="Net revenue per RFM segment",
            label_width=150,
        )
    else:
        value.missing = size.missing
    if _need(ctx, cohort, "bi.cohort_retention"):
        rows = ctx.q(
            """SELECT cohort_month, months_since_first_order, retention_rate, cohort_size, active_customers
               FROM bi.cohort_retention WHERE months_since_first_order <= 12 ORDER BY 1, 2"""
        )
        cohorts = sorted({_as_date(r[0]) for r in rows})
        months = list(range(0, max(r[1] for r in rows) + 1)) if rows else []
        ri = {c: i for i, c in enumerate(cohorts)}
        cells, tips = {}, {}
        for r in rows:
            k = (ri[_as_date(r[0])], int(r[1]))
            cells[k] = _f(r[2]) or 0.0
            tips[k] = (
                f"cohort {_as_date(r[0]):%b %Y} (+{r[1]} m): {fmt_pct(r[2])} of {fmt_num(r[3])} ({fmt_num(r[4])} active)"
            )
        later = [v for (i, j), v in cells.items() if j > 0]
        cohort.svg, cohort.points = heatmap_chart(
            "cohort_retention",
            [f"{c:%b %Y}" for c in cohorts],
            [str(m) for m in months],
            cells,
            tooltips=tips,
            vmax=max(later) if later else None,
            label="Cohort retention heatmap",
            width=WIDE,
        )
        cohort.note = '<p class="hint">Columns: months since the first order (0 = acquisition month).</p>'
    return [size, value, cohort]


def panels_clickstream(ctx: _Ctx) -> list[Panel]:
    price = Panel(
        "category_price_scatter",
        "Category prices",
        "bi.category_price_stats",
        "Average against median product price per category (bubble size = products; "
        "above the diagonal = a few expensive products pull the average up).",
        wide=True,
    )
    cats = Panel(
        "top_categories_interactions",
        "Top 10 categories by interactions",
        "bi.category_popularity",
        "Clickstream events per category (views, carts, removals, purchases); events without a category excluded.",
    )
    brands = Panel(
        "top_brands_interactions",
        "Top 10 brands by sessions",
        "bi.funnel_conversion",
        "Sessions that viewed the brand; tooltip shows the session view → purchase rate.",
    )
    funnel = Panel(
        "funnel_overall",
        "Conversion funnel",
        "bi.funnel_conversion",
        "Sessions that viewed, added to cart and purchased (all categories).",
    )
    unknown = ", ".join(f"'{u}'" for u in UNKNOWN)
    if _need(ctx, price, "bi.category_price_stats"):
        rows = ctx.q(
            f"""SELECT category, avg_price, median_price, products, min_price, max_price
                FROM bi.category_price_stats WHERE lower(coalesce(category, '')) NOT IN ({unknown})
                ORDER BY products DESC"""
        )
        price.svg, price.points = scatter_chart(
            "category_price_scatter",
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[0] for r in rows],
            sizes=[r[3] for r in rows],
            x_title="average price",
            y_title="median price",
            tooltips=[
                f"{r[0]}: avg {fmt_num(r[1])}, median {fmt_num(r[2])}, min {fmt_num(r[4])}, "
                f"max {fmt_num(r[5])}, {fmt_num(r[3])} products"
                for r in rows
            ],
            label="Average vs median price per category",
            width=WIDE,
            height=340,
            annotate=10,
        )
        if not price.points:
            price.missing = (
                ctx.input_gap("products") or "Not yet available: bi.category_price_stats has no categorised products."
            )
    if _need(ctx, cats, "bi.category_popularity"):
        rows = ctx.q(
            f"""SELECT category, interactions, views, carts, removes_from_cart, purchases, users
                FROM bi.category_popularity WHERE lower(coalesce(category, '')) NOT IN ({unknown})
                ORDER BY interactions DESC, category LIMIT 10"""
        )
        cats.svg, cats.points = hbar_chart(
            "top_categories_interactions",
            [r[0] for r in rows],
            [r[1] for r in rows],
            color=PALETTE["teal"],
            tooltips=[
                f"{r[0]}: {fmt_num(r[1])} interactions = {fmt_num(r[2])} views, {fmt_num(r[3])} carts, "
                f"{fmt_num(r[4])} removals, {fmt_num(r[5])} purchases; {fmt_num(r[6])} users"
                for r in rows
            ],
            label="Top categories by interactions",
        )
        if not cats.points:
            cats.missing = ctx.input_gap("products") or "Not yet available: no categorised clickstream events."
    if _need(ctx, brands, "bi.funnel_conversion"):
        rows = ctx.q(
            f"""SELECT breakdown_value, sessions_viewed, sessions_carted, sessions_purchased,
                       session_view_to_purchase_rate
                FROM bi.funnel_conversion
                WHERE breakdown = 'brand' AND lower(coalesce(breakdown_value, '')) NOT IN ({unknown})
                ORDER BY sessions_viewed DESC, breakdown_value LIMIT 10"""
        )
        brands.svg, brands.points = hbar_chart(
            "top_brands_interactions",
            [r[0] for r in rows],
            [r[1] for r in rows],
            color=PALETTE["violet"],
            tooltips=[
                f"{r[0]}: {fmt_num(r[1])} sessions viewed, {fmt_num(r[2])} carted, {fmt_num(r[3])} purchased "
                f"({fmt_pct(r[4])} view → purchase)"
                for r in rows
            ],
            label="Top brands by sessions",
            label_width=150,
        )
        if not brands.points:
            brands.missing = "Not yet available: no brand breakdown in bi.funnel_conversion."
        o = ctx.q(
            """SELECT sessions_viewed, sessions_carted, sessions_purchased, session_view_to_cart_rate,
                      session_cart_to_purchase_rate FROM bi.funnel_conversion WHERE breakdown = 'overall' LIMIT 1"""
        )
        if o:
            v, c, p, r1, r2 = o[0]
            funnel.svg, funnel.points = vbar_chart(
                "funnel_overall",
                ["viewed", "carted", "purchased"],
                [v, c, p],
                colors=[PALETTE["blue"], PALETTE["amber"], PALETTE["green"]],
                tooltips=[
                    f"sessions viewed: {fmt_num(v)}",
                    f"sessions carted: {fmt_num(c)} ({fmt_pct(r1)} of viewed)",
                    f"sessions purchased: {fmt_num(p)} ({fmt_pct(r2)} of carted)",
                ],
                label="Session funnel",
                height=200,
            )
            funnel.note = f'<p class="hint">view → cart {fmt_pct(r1)}, cart → purchase {fmt_pct(r2)}.</p>'
        else:
            funnel.missing = "Not yet available: bi.funnel_conversion has no overall row."
    else:
        funnel.missing = brands.missing
    return [cats, brands, funnel, price]


def panels_ml(ctx: _Ctx) -> list[Panel]:
    out = []
    # --- churn risk
    churn = Panel(
        "churn_risk",
        "Churn risk",
        "ml.churn_scores",
        "Customers by predicted probability of not ordering in the next period.",
    )
    pcol = ctx.pick("ml.churn_scores", "churn_probability", "probability", "churn_score", "score")
    if _need(ctx, churn, "ml.churn_scores", columns={"ml.churn_scores": [pcol or "churn_probability"]}):
        bins = ctx.q(
            f"""SELECT least(CAST(floor({_qi(pcol)} * 10) AS INTEGER), 9) AS b, count(*)
                FROM ml.churn_scores WHERE {_qi(pcol)} IS NOT NULL GROUP BY 1 ORDER BY 1"""
        )
        counts = {int(b): n for b, n in bins}
        labels = [f"{i / 10:.1f}" for i in range(10)]
        vals = [counts.get(i, 0) for i in range(10)]
        colors = [_blend("#22c55e", "#dc2626", i / 9) for i in range(10)]
        churn.svg, churn.points = vbar_chart(
            "churn_risk",
            labels,
            vals,
            colors=colors,
            tooltips=[
                f"probability {i / 10:.1f}–{(i + 1) / 10:.1f}: {fmt_num(v)} customers" for i, v in enumerate(vals)
            ],
            label="Churn probability distribution",
        )
        band = ctx.pick("ml.churn_scores", "risk_band", "band", "risk")
        if band:
            bands = ctx.q(
                f"SELECT {_qi(band)}, count(*), avg({_qi(pcol)}) FROM ml.churn_scores GROUP BY 1 ORDER BY 3 DESC"
            )
            churn.note = (
                '<p class="hint">'
                + " · ".join(f"<b>{_e(b)}</b>: {fmt_num(n)} customers (avg {fmt_pct(a, 0)})" for b, n, a in bands)
                + "</p>"
            )
        churn.subtitle += " x axis: churn probability bin."
    out.append(churn)

    # --- forecast vs actuals
    fc = Panel(
        "forecast_vs_actual",
        "Demand forecast against actuals",
        "ml.demand_forecast",
        "Weekly actuals and the published forecast with its 80% interval.",
        wide=True,
    )
    t = "ml.demand_forecast"
    c_week = ctx.pick(t, "week_start", "week", "date", "ds")
    c_fc = ctx.pick(t, "forecast", "yhat", "prediction", "point_forecast")
    if _need(ctx, fc, t, columns={t: [c_week or "week_start", c_fc or "forecast"]}):
        _forecast_panel(ctx, fc, c_week, c_fc)
    out.append(fc)

    # --- backtest
    bt = Panel(
        "forecast_backtest",
        "Forecast backtest (MASE)",
        "ml.forecast_backtest",
        "Mean absolute scaled error per model over the rolling-origin backtest (lower is better; "
        "1.0 = as good as the naive in-sample forecast).",
    )
    t = "ml.forecast_backtest"
    c_model, c_mase = ctx.pick(t, "model"), ctx.pick(t, "mase", "MASE")
    if _need(ctx, bt, t, columns={t: [c_model or "model", c_mase or "mase"]}):
        where = []
        if ctx.pick(t, "level"):
            lv = [r[0] for r in ctx.q(f"SELECT DISTINCT level FROM {t}")]
            if "overall" in lv:
                where.append("level = 'overall'")
        if ctx.pick(t, "measure"):
            ms = [
                r[0]
                for r in ctx.q(f"SELECT DISTINCT measure FROM {t}" + (" WHERE " + " AND ".join(where) if where else ""))
            ]
            if "all" in ms:
                where.append("measure = 'all'")
            elif "units" in ms:
                where.append("measure = 'units'")
        rows = ctx.q(
            f"""SELECT {_qi(c_model)}, avg({_qi(c_mase)}) FROM {t}
                {"WHERE " + " AND ".join(where) if where else ""} GROUP BY 1 ORDER BY 2"""
        )
        colors = [PALETTE["green"] if i == 0 else PALETTE["grey"] for i in range(len(rows))]
        bt.svg, bt.points = vbar_chart(
            "forecast_backtest",
            [r[0] for r in rows],
            [r[1] for r in rows],
            fmt=fmt_ratio,
            colors=colors,
            ref_line=(1.0, "MASE 1.0"),
            label="Backtest MASE per model",
        )
    out.append(bt)

    # --- model metrics vs baseline
    mm = Panel(
        "model_vs_baseline",
        "Models against their baselines",
        "ml.model_metrics",
        "Primary metric of the latest run of each model beside its baseline's value.",
        wide=True,
    )
    t = "ml.model_metrics"
    need = {t: ["model", "metric", "value"]}
    if _need(ctx, mm, t, columns=need):
        _model_metrics_panel(ctx, mm)
    mm.note = _model_status_table(ctx) + mm.note
    out.append(mm)

    # --- segments
    seg = Panel(
        "ml_segments",
        "Behavioural segments",
        "ml.customer_segments",
        "Customers per clustering segment (ml.customer_segments).",
    )
    t = "ml.customer_segments"
    c_seg = ctx.pick(t, "segment_name", "segment", "cluster_name", "cluster")
    if _need(ctx, seg, t, columns={t: [c_seg or "segment_name"]}):
        rows = ctx.q(f"SELECT CAST({_qi(c_seg)} AS VARCHAR), count(*) FROM {t} GROUP BY 1 ORDER BY 2 DESC, 1")
        seg.svg, seg.points = hbar_chart(
            "ml_segments",
            [r[0] for r in rows],
            [r[1] for r in rows],
            color=PALETTE["teal"],
            label="Customers per segment",
            label_width=170,
        )
        if ctx.has("ml.segment_profiles"):
            seg.note = '<p class="hint">Profiles of each segment: <code>ml.segment_profiles</code>.</p>'
    out.append(seg)

    # --- frequently bought together
    fbt = Panel(
        "frequently_bought_together",
        "Frequently bought together",
        "ml.frequently_bought_together",
        "Top 10 product pairs by lift (how much more often they share a basket than by chance).",
    )
    t = "ml.frequently_bought_together"
    a, b = (
        ctx.pick(t, "stock_code", "product_a", "antecedent"),
        ctx.pick(t, "other_stock_code", "product_b", "consequent"),
    )
    metric = ctx.pick(t, "lift", "confidence", "score", "co_baskets")
    if _need(ctx, fbt, t, columns={t: [a or "stock_code", b or "other_stock_code", metric or "lift"]}):
        names = ""
        if ctx.has("bi.product_bestsellers"):
            names = (
                "LEFT JOIN bi.product_bestsellers pa ON pa.stock_code = CAST(f.{a} AS VARCHAR) "
                "LEFT JOIN bi.product_bestsellers pb ON pb.stock_code = CAST(f.{b} AS VARCHAR)"
            )
            names = names.format(a=_qi(a), b=_qi(b))
            dsc = "coalesce(pa.product_description, CAST(f.{a} AS VARCHAR)), coalesce(pb.product_description, CAST(f.{b} AS VARCHAR))"
        else:
            dsc = "CAST(f.{a} AS VARCHAR), CAST(f.{b} AS VARCHAR)"
        dsc = dsc.format(a=_qi(a), b=_qi(b))
        rows = ctx.q(
            f"""SELECT {dsc}, f.{_qi(metric)} FROM {t} f {names}
                WHERE CAST(f.{_qi(a)} AS VARCHAR) < CAST(f.{_qi(b)} AS VARCHAR)
                   OR NOT EXISTS (SELECT 1 FROM {t} g WHERE g.{_qi(a)} = f.{_qi(b)} AND g.{_qi(b)} = f.{_qi(a)})
                ORDER BY f.{_qi(metric)} DESC NULLS LAST LIMIT 10"""
        )
        fbt.svg, fbt.points = hbar_chart(
            "frequently_bought_together",
            [f"{_trunc(r[0], 18)} + {_trunc(r[1], 18)}" for r in rows],
            [r[2] for r in rows],
            fmt=fmt_ratio if metric in ("lift", "confidence", "score") else fmt_num,
            color=PALETTE["rose"],
            tooltips=[f"{r[0]} + {r[1]}: {metric} {fmt_ratio(r[2])}" for r in rows],
            label="Frequently bought together",
            label_width=290,
        )
        fbt.subtitle = fbt.subtitle.replace("by lift", f"by {metric}")
    out.append(fbt)

    # --- recommendations
    rec = Panel(
        "top_recommended_products",
        "Most recommended products",
        "ml.product_recommendations",
        "Products appearing most often in customers' recommendation lists.",
    )
    t = "ml.product_recommendations"
    c_code = ctx.pick(t, "stock_code", "product_id", "item_id")
    if _need(ctx, rec, t, columns={t: [c_code or "stock_code"]}):
        join = (
            f"LEFT JOIN bi.product_bestsellers p ON p.stock_code = CAST(r.{_qi(c_code)} AS VARCHAR)"
            if ctx.has("bi.product_bestsellers")
            else ""
        )
        label_sql = (
            "coalesce(any_value(p.product_description), CAST(r.{c} AS VARCHAR))" if join else "CAST(r.{c} AS VARCHAR)"
        ).format(c=_qi(c_code))
        rows = ctx.q(
            f"""SELECT {label_sql}, count(*) FROM {t} r {join}
                GROUP BY r.{_qi(c_code)} ORDER BY 2 DESC, 1 LIMIT 10"""
        )
        rec.svg, rec.points = hbar_chart(
            "top_recommended_products",
            [r[0] for r in rows],
            [r[1] for r in rows],
            color=PALETTE["amber"],
            label="Most recommended products",
        )
    out.append(rec)
    return out


def _forecast_panel(ctx: _Ctx, fc: Panel, c_week: str, c_fc: str) -> None:
    t = "ml.demand_forecast"
    c_sid = ctx.pick(t, "series_id", "series")
    c_lo = ctx.pick(t, "lower_80", "lower", "yhat_lower", "lo_80", "lower_bound")
    c_hi = ctx.pick(t, "upper_80", "upper", "yhat_upper", "hi_80", "upper_bound")
    c_model = ctx.pick(t, "model")
    filters = []
    # one model per series (ml.demand_forecast: each series' champion) needs no filter; a
    # table with several models per series shows one of them
    per_series = (
        ctx.q(f"SELECT max(n) FROM (SELECT count(DISTINCT {_qi(c_model)}) n FROM {t} GROUP BY {_qi(c_sid)})")[0][0]
        if c_model and c_sid
        else 2
    )
    if c_model and (per_series or 0) > 1:
        models = [r[0] for r in ctx.q(f"SELECT DISTINCT {_qi(c_model)} FROM {t}")]
        chosen = "lightgbm" if "lightgbm" in models else (models[0] if models else None)
        if chosen is not None and len(models) > 1:
            filters.append(f"{_qi(c_model)} = '{str(chosen).replace(chr(39), chr(39) * 2)}'")
    sid = None
    if c_sid:
        ids = [
            r[0]
            for r in ctx.q(
                f"SELECT {_qi(c_sid)}, sum({_qi(c_fc)}) s FROM {t} GROUP BY 1 ORDER BY (({_qi(c_sid)}) = 'total:revenue') DESC, s DESC"
            )
        ]
        sid = ids[0] if ids else None
        if sid is not None:
            filters.append(f"{_qi(c_sid)} = '{str(sid).replace(chr(39), chr(39) * 2)}'")
    where = ("WHERE " + " AND ".join(filters)) if filters else ""
    lo_sql = f"avg({_qi(c_lo)})" if c_lo else "NULL"
    hi_sql = f"avg({_qi(c_hi)})" if c_hi else "NULL"
    rows = ctx.q(
        f"""SELECT CAST({_qi(c_week)} AS DATE), avg({_qi(c_fc)}), {lo_sql}, {hi_sql} FROM {t} {where}
            GROUP BY 1 ORDER BY 1"""
    )
    fx = [_as_date(r[0]) for r in rows]
    actual_x, actual_y, what = [], [], "actuals not available for this series in the BI copy"
    sid_s = str(sid or "")
    if (sid is None or sid_s == "total:revenue") and ctx.has("bi.sales_daily"):
        weekly = _weekly_sales(ctx)
        actual_x, actual_y = [_as_date(r[0]) for r in weekly], [r[2] for r in weekly]
        what = "actuals: weekly gross merchandise revenue (bi.sales_daily)"
    elif sid_s.startswith("product:") and ctx.has("bi.product_sales_weekly"):
        code = sid_s.split(":", 1)[1]
        weekly = ctx.q(
            "SELECT week_start, sum(net_units) FROM bi.product_sales_weekly WHERE stock_code = ? GROUP BY 1 ORDER BY 1",
            [code],
        )
        actual_x, actual_y = [_as_date(r[0]) for r in weekly], [r[1] for r in weekly]
        what = f"actuals: weekly net units of {code} (bi.product_sales_weekly)"
    # Show the last year of actuals so the forecast horizon stays readable.
    if actual_x and fx:
        start = min(fx) - timedelta(days=371)
        keep = [i for i, d in enumerate(actual_x) if d >= start]
        actual_x, actual_y = [actual_x[i] for i in keep], [actual_y[i] for i in keep]
    series = []
    if actual_x:
        series.append({"label": "actual", "xs": actual_x, "ys": actual_y, "color": PALETTE["ink"]})
    series.append({"label": "forecast", "xs": fx, "ys": [r[1] for r in rows], "color": PALETTE["amber"], "dash": True})
    band = None
    if c_lo and c_hi:
        band = {
            "xs": fx,
            "lo": [r[2] for r in rows],
            "hi": [r[3] for r in rows],
            "color": PALETTE["amber"],
            "label": "80% interval",
        }
    fc.svg, fc.points = line_chart(
        "forecast_vs_actual", [], series, band=band, label="Forecast vs actuals", width=WIDE, height=250
    )
    fc.subtitle += f" Series {sid_s or '(all)'}; {what}."


def _model_status_table(ctx: _Ctx) -> str:
    """One row per model: published or not, and why (ml.model_status)."""
    if not ctx.statuses:
        return ""
    body = "".join(
        f'<tr data-model="{_e(m)}"><td>{_e(m)}</td><td>{"yes" if st.get("published") else "no"}</td>'
        f"<td>{_e(st.get('reason') or '')}</td><td>{_e(st.get('what_would_change_it') or '–')}</td></tr>"
        for m, st in sorted(ctx.statuses.items())
    )
    return (
        '<table class="mini model-status"><thead><tr><th>model</th><th>published</th><th>why</th>'
        f"<th>what would change it</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _model_metrics_panel(ctx: _Ctx, mm: Panel) -> None:
    t = "ml.model_metrics"
    c = {
        k: ctx.pick(t, k)
        for k in (
            "task",
            "model",
            "metric",
            "value",
            "baseline_name",
            "baseline_value",
            "is_primary",
            "run_at",
            "beats_baseline",
            "publishable",
        )
    }

    def col(k: str) -> str:
        return _qi(c[k]) if c[k] else "NULL"

    keys = [_qi(c[k]) for k in ("task", "model", "metric") if c[k]]
    order_run = f"{_qi(c['run_at'])} DESC NULLS LAST" if c["run_at"] else "1"
    where = f"WHERE {_qi(c['is_primary'])}" if c["is_primary"] else ""
    sql = f"""
        WITH ranked AS (
            SELECT {col("task")} AS task, {col("model")} AS model, {col("metric")} AS metric,
                   {col("value")} AS value, {col("baseline_name")} AS baseline_name,
                   {col("baseline_value")} AS baseline_value, {col("beats_baseline")} AS beats,
                   {col("publishable")} AS publishable,
                   row_number() OVER (PARTITION BY {", ".join(keys)}, {col("baseline_name")}
                                      ORDER BY {order_run}) AS rn
            FROM {t} {where})
        SELECT task, model, metric, value, baseline_name, baseline_value, beats, publishable FROM ranked
        WHERE rn = 1 ORDER BY task NULLS LAST, model, metric, baseline_name NULLS FIRST LIMIT 16"""
    rows = ctx.q(sql)
    if not rows and where:
        rows = ctx.q(sql.replace(where, ""))
    labels = [
        " · ".join(str(x) for x in (r[0], r[1], r[2]) if x is not None) + (f" vs {r[4]}" if r[4] is not None else "")
        for r in rows
    ]
    mm.svg, mm.points = grouped_hbar_chart(
        "model_vs_baseline",
        labels,
        [("model", [r[3] for r in rows], PALETTE["blue"]), ("baseline", [r[5] for r in rows], PALETTE["grey"])],
        label="Model metrics against baselines",
        width=WIDE,
        label_width=360,
    )

    def yn(v) -> str:
        return "–" if v is None else ("yes" if v else "no")

    if rows:
        body = "".join(
            f"<tr><td>{_e(lab)}</td><td>{_e(fmt_ratio(r[3]))}</td><td>{_e(fmt_ratio(r[5]))}</td>"
            f"<td>{_e(yn(r[6]))}</td><td>{_e(yn(r[7]))}</td></tr>"
            for lab, r in zip(labels, rows)
        )
        mm.note = (
            '<table class="mini"><thead><tr><th>task · model · metric vs baseline</th><th>value</th>'
            "<th>baseline value</th><th>beats baseline</th><th>published</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )


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
