"""The dashboard's charts: inline SVG (line, bars, scatter, heatmap) and number formatting, no JavaScript library."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal

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
