"""Invoices: headers for the whole window, lines month by month.

Headers are cheap (one row per invoice), so they are drawn for all two years at once and
numbered in time order. Lines are drawn per month, so memory stays bounded at any scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _vocab as V
from ._world import (
    COUNTRIES,
    DAY_SECONDS,
    HOUR_TX,
    MONTH_START_DAY,
    N_DAYS,
    Calendar,
    Customers,
    Products,
    country_probs,
    pick,
    rowwise_pick,
)

KIND_KNOWN, KIND_ANON, KIND_CANCEL, KIND_NM = 0, 1, 2, 3
QTY_STEPS = np.array(
    [
        1,
        2,
        3,
        4,
        5,
        6,
        8,
        10,
        12,
        16,
        20,
        24,
        25,
        32,
        36,
        48,
        50,
        60,
        72,
        96,
        100,
        120,
        144,
        192,
        200,
        240,
        288,
        480,
        600,
        960,
    ]
)
_QTY_EDGES = np.exp((np.log(QTY_STEPS[1:]) + np.log(QTY_STEPS[:-1])) / 2)
FIRST_INVOICE = 600000
UK = COUNTRIES.index(V.HOME_COUNTRY)
EIRE = COUNTRIES.index("EIRE")
EU_IDX = [i for i, name in enumerate(COUNTRIES) if name in V.EU_COUNTRIES]


@dataclass(frozen=True)
class Params:
    anon_line_share: float = 0.20
    cancel_line_share: float = 0.02
    dup_line_share: float = 0.008
    zero_price_rate: float = 0.0006
    basket_mean_known: float = 17.0
    basket_mean_anon: float = 20.0
    basket_r: float = 1.3
    renewal_shape: float = 2.5  # gamma shape of the gaps between a customer's orders
    fav_share: float = 0.30  # share of a known customer's lines re-ordering a favourite
    alt_desc_share: float = 0.35  # share of lines of a two-wording product using the second one
    bundle_prob: float = 0.55  # chance that buying one bundle member adds the others
    bulk_qty: int = 100
    bulk_factor: float = 0.85
    # Measured at scale 1: final merchandise lines per drawn line (bundles add, de-duplication
    # of repeated products removes; favourites make known customers' baskets repeat more).
    known_lines_per_drawn: float = 0.913
    anon_lines_per_drawn: float = 1.07
    nm_line_share: float = 0.0095  # measured share of non-merchandise lines
    browse_per_order: float = 1.5  # browsing sessions of a customer per order (same period)
    anon_browse_per_order: float = 1.0  # anonymous browsing sessions per known order
    view_before_cart: float = 0.8  # share of purchased lines viewed before going to the cart
    extra_views_per_line: float = 0.6  # products only looked at in a purchase session, per line


@dataclass
class Headers:
    t: np.ndarray  # seconds since 2024-01-01 00:00
    cust: np.ndarray  # customer index, -1 = anonymous
    kind: np.ndarray
    ref: np.ndarray  # header index of the cancelled invoice (KIND_CANCEL), else -1
    nm: np.ndarray  # non-merch code index (KIND_NM), else -1
    nm_pence: np.ndarray  # price of the single KIND_NM line
    n_lines: np.ndarray  # drawn basket size (normal invoices)
    country: np.ndarray
    spend: np.ndarray  # log-quantity offset of the invoice
    number: np.ndarray
    month_bounds: np.ndarray  # header index range per month (N_MONTHS + 1)


def _time_of_day(rng: np.random.Generator, n: int, hours: np.ndarray) -> np.ndarray:
    return pick(rng, hours, n) * 3600 + rng.integers(0, 60, n) * 60


def _renewal(rng, first_op, b_op, rate, shape):
    """Gamma-renewal order times in operational time, per customer, until b_op."""
    out_c = [np.flatnonzero(first_op < b_op)]
    out_t = [first_op[out_c[0]]]
    cur = first_op.copy()
    active = first_op < b_op
    span = np.where(active, b_op - first_op, 0.0)
    m = np.ceil(rate * span * 1.1 + 2 * np.sqrt(rate * span) + 2).astype(np.int64)
    while True:
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        mm = m[idx]
        rep = np.repeat(idx, mm)
        gaps = rng.gamma(shape, 1.0, rep.size) / (shape * rate[rep])
        cs = np.cumsum(gaps)
        ends = np.cumsum(mm)
        starts = ends - mm
        t = cur[rep] + cs - np.repeat(cs[starts] - gaps[starts], mm)
        keep = t < b_op[rep]
        out_c.append(rep[keep])
        out_t.append(t[keep])
        last = t[ends - 1]
        cur[idx] = last
        active[idx] = last < b_op[idx]
        m[idx] = np.maximum(2, mm // 2)
    return np.concatenate(out_c), np.concatenate(out_t)


def _nb_lines(rng, mean_extra: np.ndarray, r: float) -> np.ndarray:
    mean_extra = np.maximum(mean_extra, 0.05)
    return 1 + np.minimum(rng.negative_binomial(r, r / (r + mean_extra)), 400)


def _later(rng, t0: np.ndarray, max_days: int = 26) -> np.ndarray:
    """A time after t0: same day (+10 min..3 h) or some days later in shop hours, never Saturday."""
    n = len(t0)
    day0 = t0 // DAY_SECONDS
    same = rng.random(n) < 0.3
    t_same = np.minimum(t0 + rng.integers(600, 3 * 3600, n), (day0 + 1) * DAY_SECONDS - 60)
    t_same = t_same // 60 * 60
    days = day0 + 1 + np.minimum(rng.geometric(1 / 6, n) - 1, max_days)
    days = days + 2 * ((days % 7) == 5)  # Saturday -> Monday
    t_later = days * DAY_SECONDS + _time_of_day(rng, n, HOUR_TX)
    return np.where(same, t_same, t_later)


def build_headers(
    rng, cal: Calendar, cust: Customers, prods: Products, target_lines: float, P: Params
) -> tuple[Headers, dict]:
    n = cust.n
    shape = P.renewal_shape
    buyer = ~cust.never_buyer
    a_op = Calendar.to_op(cal.c_tx, cal.i_tx, cust.start)
    b_op = Calendar.to_op(cal.c_tx, cal.i_tx, cust.end)
    is_new = cust.signup_day >= 0
    ml = 1 + (P.basket_mean_known - 1) * cust.basket  # expected drawn lines per order
    first_new = a_op + rng.exponential(1.5, n)
    known_share = 1 - P.anon_line_share - P.cancel_line_share - P.nm_line_share - P.dup_line_share
    target_known = target_lines * known_share / P.known_lines_per_drawn
    has_first = buyer & is_new & (first_new < b_op)
    span = np.where(buyer, np.maximum(b_op - a_op, 0.0), 0.0)
    k = max(target_known - ml[has_first].sum(), 0.1 * target_known) / max((cust.rate_rel * span * ml).sum(), 1e-9)
    cust.rate = k * cust.rate_rel
    lead = rng.random(n) * rng.gamma(shape, 1.0, n) / (shape * cust.rate)
    first_op = np.where(is_new, first_new, a_op + lead)
    first_op[~buyer] = np.inf
    kc, kop = _renewal(rng, first_op, b_op, cust.rate, shape)
    kday = np.floor(Calendar.from_op(cal.c_tx, cal.i_tx, kop)).astype(np.int64)
    kday = np.minimum(kday, np.maximum(cust.end[kc].astype(np.int64) - 1, 0))
    kt = kday * DAY_SECONDS + _time_of_day(rng, len(kc), HOUR_TX)
    k_lines = _nb_lines(rng, ml[kc] - 1, P.basket_r)

    # Anonymous orders (about a fifth of the lines), growing with the trend.
    n_anon = int(rng.poisson(target_lines * P.anon_line_share / P.anon_lines_per_drawn / P.basket_mean_anon))
    aday = pick(rng, cal.i_tx * cal.trend**0.5, n_anon)
    at = aday * DAY_SECONDS + _time_of_day(rng, n_anon, HOUR_TX)
    a_lines = _nb_lines(rng, np.full(n_anon, P.basket_mean_anon - 1), P.basket_r)
    a_country = pick(rng, country_probs(0.93), n_anon)
    a_spend = rng.normal(0.2, 0.6, n_anon)

    # Cancellations of earlier orders of the same customer.
    per_cancel = 0.9 * 1.8 + 0.1 * P.basket_mean_known
    n_cancel_target = target_lines * P.cancel_line_share / per_cancel
    w = cust.cancel_w[kc]
    p = np.minimum(0.9, n_cancel_target * w / max(w.sum(), 1e-9))
    ci = np.flatnonzero(rng.random(len(kc)) < p)
    ct = _later(rng, kt[ci])
    ok = (ct < N_DAYS * DAY_SECONDS) & (ct < cust.end[kc[ci]] * DAY_SECONDS)
    ci, ct = ci[ok], ct[ok]

    # Single-line credit notes: discounts (D), charity commission (CRUK), Amazon fees.
    nm_c, nm_t, nm_code, nm_pence = [], [], [], []
    if len(kc):
        n_d = int(rng.poisson(0.004 * len(kc)))
        di = rng.integers(0, len(kc), n_d)
        nm_c.append(kc[di]), nm_t.append(_later(rng, kt[di])), nm_code.append(np.full(n_d, V.NM_D))
        nm_pence.append(np.round(rng.uniform(5, 60, n_d), 1) * 100)
        counts = np.bincount(kc, minlength=n)
        regular = np.flatnonzero(counts >= 5)
        if len(regular):
            charity = rng.choice(regular, min(len(regular), max(1, round(n / 5000))), replace=False)
            for c in charity:
                own = np.flatnonzero(kc == c)
                m = int(rng.poisson(12))
                pi = own[rng.integers(0, len(own), m)]
                nm_c.append(np.full(m, c)), nm_t.append(_later(rng, kt[pi])), nm_code.append(np.full(m, V.NM_CRUK))
                nm_pence.append(np.round(rng.uniform(1, 40, m), 2) * 100)
    n_amz = int(rng.poisson(20 * target_lines / 1e6))
    amz_day = pick(rng, cal.i_tx * cal.trend**0.5, n_amz)
    nm_c.append(np.full(n_amz, -1)), nm_t.append(amz_day * DAY_SECONDS + _time_of_day(rng, n_amz, HOUR_TX))
    nm_code.append(np.full(n_amz, V.NM_AMAZON)), nm_pence.append(np.round(rng.uniform(1000, 17000, n_amz), 2) * 100)
    nm_c = np.concatenate(nm_c).astype(np.int64)
    nm_t = np.concatenate(nm_t).astype(np.int64)
    nm_code = np.concatenate(nm_code).astype(np.int64)
    nm_pence = np.round(np.concatenate(nm_pence)).astype(np.int64)
    ok = nm_t < N_DAYS * DAY_SECONDS
    ok &= np.where(nm_c >= 0, nm_t < cust.end[np.maximum(nm_c, 0)] * DAY_SECONDS, True)
    nm_c, nm_t, nm_code, nm_pence = nm_c[ok], nm_t[ok], nm_code[ok], nm_pence[ok]

    nk, na, nc, nn = len(kc), n_anon, len(ci), len(nm_c)
    t = np.concatenate([kt, at, ct, nm_t]).astype(np.int64)
    cu = np.concatenate([kc, np.full(na, -1), kc[ci], nm_c]).astype(np.int64)
    kind = np.concatenate(
        [np.full(nk, KIND_KNOWN), np.full(na, KIND_ANON), np.full(nc, KIND_CANCEL), np.full(nn, KIND_NM)]
    ).astype(np.int8)
    ref = np.concatenate([np.full(nk + na, -1), ci, np.full(nn, -1)]).astype(np.int64)
    nm = np.concatenate([np.full(nk + na + nc, -1), nm_code]).astype(np.int64)
    nmp = np.concatenate([np.zeros(nk + na + nc, np.int64), nm_pence])
    n_lines = np.concatenate([k_lines, a_lines, np.zeros(nc + nn, np.int64)]).astype(np.int64)
    country = np.concatenate(
        [cust.country[kc], a_country, cust.country[kc[ci]], np.where(nm_c >= 0, cust.country[np.maximum(nm_c, 0)], UK)]
    ).astype(np.int64)
    spend = np.concatenate([cust.spend[kc], a_spend, np.zeros(nc + nn)])

    order = np.lexsort((rng.random(len(t)), t))
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    ref = ref[order]
    ref = np.where(ref >= 0, inv[np.maximum(ref, 0)], -1)
    t = t[order]
    H = Headers(
        t=t,
        cust=cu[order],
        kind=kind[order],
        ref=ref,
        nm=nm[order],
        nm_pence=nmp[order],
        n_lines=n_lines[order],
        country=country[order],
        spend=spend[order],
        number=FIRST_INVOICE + np.arange(len(t), dtype=np.int64),
        month_bounds=np.searchsorted(t, MONTH_START_DAY * DAY_SECONDS),
    )
    stats = {"rate_scale": float(k)}
    return H, stats


# --------------------------------------------------------------------------- lines


@dataclass
class MonthLines:
    h: np.ndarray  # header index per line
    code: np.ndarray  # index into products.code_table
    desc: np.ndarray  # index into products.desc_table, -1 = empty
    qty: np.ndarray
    millis: np.ndarray  # price in 1/1000 GBP
    dup: np.ndarray  # exact copy of the previous-ish line
    # Known customers' merchandise lines of normal orders (for the purchase events).
    ev_h: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ev_prod: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ev_pence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


@dataclass
class Store:
    """Merchandise lines of the last weeks, for cancellations to copy from (sorted by header)."""

    h: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    code: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    desc: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    qty: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    millis: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    parts: list = field(default_factory=list)

    def push(self, h, code, desc, qty, millis, min_h: int = 0) -> None:
        """Add a block of lines; forget blocks whose invoices all lie before header ``min_h``."""
        self.parts.append((h, code, desc, qty, millis))
        self.parts = [p for p in self.parts if len(p[0]) and p[0][-1] >= min_h] or self.parts[-1:]
        self.h, self.code, self.desc, self.qty, self.millis = (np.concatenate(x) for x in zip(*self.parts))


class CategorySampler:
    """Draws products of given categories by popularity among the products on sale."""

    def __init__(self, prods: Products, month: int):
        self.avail = prods.available(month)
        self.members = []
        self.cdf = []
        for k in range(len(V.CATEGORIES)):
            mem = np.flatnonzero((prods.cat == k) & self.avail)
            if mem.size == 0:  # cannot happen with the default catalogue; keep a fallback
                mem = np.flatnonzero(prods.cat == k)
            c = np.cumsum(prods.pop[mem])
            self.members.append(mem)
            self.cdf.append(c / c[-1])

    def draw(self, rng, cat: np.ndarray) -> np.ndarray:
        out = np.empty(len(cat), np.int64)
        u = rng.random(len(cat))
        for k in range(len(self.members)):
            idx = np.flatnonzero(cat == k)
            if idx.size:
                j = np.searchsorted(self.cdf[k], u[idx], side="right")
                out[idx] = self.members[k][np.minimum(j, len(self.members[k]) - 1)]
        return out


def category_factors(month: int) -> np.ndarray:
    moy = month % 12
    return np.array([V.CATEGORY_SEASON[c.season][moy] for c in V.CATEGORIES])


def draw_categories(rng, cust: Customers, c: np.ndarray, month: int, chunk: int = 200_000) -> np.ndarray:
    """Category per draw: the customer's tastes (or the shop mix for c = -1) x the month's season."""
    cf = category_factors(month)
    cat_w = np.array([x.weight for x in V.CATEGORIES])
    anon_cum = np.cumsum(cat_w * cf)
    anon_cum /= anon_cum[-1]
    out = np.empty(len(c), np.int64)
    u = rng.random(len(c))
    for lo in range(0, len(c), chunk):
        cc = c[lo : lo + chunk]
        known = cc >= 0
        res = np.empty(len(cc), np.int64)
        if known.any():
            tc = cust.taste_cum[cc[known]].astype(np.float64)
            taste = np.diff(tc, axis=1, prepend=0.0) * cf
            cum = np.cumsum(taste, axis=1)
            cum /= cum[:, -1:]
            res[known] = rowwise_pick(cum, u[lo : lo + chunk][known])
        if (~known).any():
            res[~known] = np.minimum(np.searchsorted(anon_cum, u[lo : lo + chunk][~known], side="right"), len(cf) - 1)
        out[lo : lo + chunk] = res
    return out


def snap_qty(log_q: np.ndarray) -> np.ndarray:
    return QTY_STEPS[np.searchsorted(_QTY_EDGES, np.exp(log_q))]


def block_lines(
    m: int,
    lo: int,
    hi: int,
    H: Headers,
    cal: Calendar,
    cust: Customers,
    prods: Products,
    P: Params,
    rng: np.random.Generator,
    store: Store,
    sampler: CategorySampler,
    force_zero_price: bool = False,
) -> tuple[MonthLines, dict]:
    """Lines of the invoices with header index in [lo, hi) (a block of days of month m)."""
    sel = np.arange(lo, hi)
    kind = H.kind[sel]
    normal = sel[kind <= KIND_ANON]
    NP = prods.n

    # 1. Draw baskets: category by taste and season, product by popularity (or a favourite).
    nl = H.n_lines[normal]
    h = np.repeat(normal, nl)
    c = H.cust[h]
    cat = draw_categories(rng, cust, c, m)
    prod = sampler.draw(rng, cat)
    fav_pick = (c >= 0) & (rng.random(len(h)) < P.fav_share)
    fi = np.flatnonzero(fav_pick)
    fav = cust.favs[c[fi], rng.integers(0, cust.favs.shape[1], len(fi))]
    ok = sampler.avail[fav]
    prod[fi[ok]] = fav[ok]
    pos = (np.arange(len(h)) - np.repeat(np.cumsum(nl) - nl, nl)).astype(float)

    # 2. Bundles: a member in the basket often brings the others along.
    b = prods.bundle_of[prod]
    trig = np.flatnonzero((b >= 0) & (rng.random(len(h)) < P.bundle_prob))
    if trig.size:
        mem = prods.bundle_members[b[trig]]  # (t, 4)
        rep = np.repeat(trig, mem.shape[1])
        mem = mem.ravel()
        keep = (mem >= 0) & (mem != prod[rep])
        rep, mem = rep[keep], mem[keep]
        h = np.concatenate([h, h[rep]])
        prod = np.concatenate([prod, mem])
        pos = np.concatenate([pos, pos[rep] + 0.5])
        c = np.concatenate([c, c[rep]])

    # 3. One line per product and invoice, in basket order.
    o = np.lexsort((pos, h))
    h, prod, c = h[o], prod[o], c[o]
    _, first = np.unique(h * NP + prod, return_index=True)
    keep = np.sort(first)
    h, prod, c = h[keep], prod[keep], c[keep]
    n = len(h)
    starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]]) if n else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, counts)

    # 4. Quantity, price, description.
    day = H.t[h] // DAY_SECONDS
    disc = cal.discount[day]
    log_q = np.log(6) + H.spend[h] + prods.pack[prod] + np.where(disc > 0, np.log(1.15), 0) + rng.normal(0, 0.55, n)
    qty = snap_qty(log_q)
    pence = prods.price_cents(prod, day)
    pence = np.round(pence * (1 - disc)).astype(np.int64)
    bulk = qty >= P.bulk_qty
    pence[bulk] = np.round(pence[bulk] * P.bulk_factor).astype(np.int64)
    pence = np.maximum(pence, 1)
    desc = prod.copy()
    use_alt = (prods.alt[prod] >= 0) & (rng.random(n) < P.alt_desc_share)
    desc[use_alt] = prods.alt[prod[use_alt]]
    n_zero = int(rng.binomial(n, P.zero_price_rate)) if n else 0
    if force_zero_price and n_zero == 0 and n:
        n_zero = 1
    zi = rng.choice(n, n_zero, replace=False) if n_zero else np.zeros(0, np.int64)
    pence[zi] = 0
    desc[zi[rng.random(len(zi)) < 0.5]] = -1
    millis = pence * 10

    known_line = H.kind[h] == KIND_KNOWN
    ml = MonthLines(
        h=h,
        code=prod,
        desc=desc,
        qty=qty,
        millis=millis,
        dup=np.zeros(n, bool),
        ev_h=h[known_line],
        ev_prod=prod[known_line],
        ev_pence=pence[known_line],
    )

    # 5. Non-merchandise lines at the end of normal invoices.
    inv_val = np.bincount(np.searchsorted(normal, h), weights=qty * pence, minlength=len(normal))
    r = rng.random((len(normal), 5))
    ctry = H.country[normal]
    known = H.kind[normal] == KIND_KNOWN
    eu = np.isin(ctry, EU_IDX)
    nm_h, nm_code, nm_qty, nm_pence = [], [], [], []
    post = known & (ctry != UK) & (r[:, 0] < 0.8)
    k = int(post.sum())
    nm_h.append(normal[post]), nm_code.append(np.full(k, V.NM_POST))
    nm_qty.append(1 + pick(rng, np.array([0.6, 0.3, 0.1]), k))
    nm_pence.append(np.where(eu[post], np.where(rng.random(k) < 0.8, 1800, 1500), 4000))
    c2 = (ctry == EIRE) & (r[:, 1] < 0.4)
    dot = (~known) & (r[:, 2] < 0.3)
    man = r[:, 3] < 0.008
    bank = r[:, 4] < 0.002
    for mask, code in ((c2, V.NM_C2), (dot, V.NM_DOT), (man, V.NM_M), (bank, V.NM_BANK)):
        k = int(mask.sum())
        nm_h.append(normal[mask]), nm_code.append(np.full(k, code)), nm_qty.append(np.ones(k, np.int64))
        if code == V.NM_C2:
            nm_pence.append(np.full(k, 5000))
        elif code == V.NM_DOT:
            nm_pence.append(np.clip(np.round(inv_val[mask] * 0.04), 500, 250000))
        elif code == V.NM_M:
            nm_pence.append(np.round(rng.lognormal(np.log(250), 1.0, k)))
        else:
            nm_pence.append(np.full(k, 1500))
    nm_h = np.concatenate(nm_h).astype(np.int64)
    nm_code = np.concatenate(nm_code).astype(np.int64)
    nm_qty = np.concatenate(nm_qty).astype(np.int64)
    nm_millis = np.concatenate(nm_pence).astype(np.int64) * 10
    nm_rank = np.full(len(nm_h), 10_000.0) + nm_code

    # 6. Exact duplicates: a copy of a line, placed right after it or a few lines later.
    di = np.flatnonzero(rng.random(n) < P.dup_line_share)
    last_rank = np.repeat(counts, counts)[di] - 1
    dup_rank = np.minimum(rank[di] + rng.integers(0, 3, len(di)), last_rank) + 0.5

    # 7. Cancellations: copy some lines of the referenced invoice with negative quantity.
    # Cancellations come at most ~30 days after the order: keep 40 days of lines.
    keep_from = int(np.searchsorted(H.t, H.t[lo] - 40 * DAY_SECONDS)) if hi > lo else lo
    store.push(h, prod, desc, qty, millis, min_h=keep_from)
    cs = sel[kind == KIND_CANCEL]
    refs = H.ref[cs]
    s_lo = np.searchsorted(store.h, refs, side="left")
    s_hi = np.searchsorted(store.h, refs, side="right")
    cnt = s_hi - s_lo
    k_c = np.where(rng.random(len(cs)) < 0.1, cnt, np.minimum(cnt, 1 + rng.poisson(0.8, len(cs))))
    grp = np.repeat(np.arange(len(cs)), cnt)
    within = np.arange(grp.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    cand = s_lo[grp] + within
    u = rng.random(grp.size)
    o = np.lexsort((u, grp))
    rnk = np.empty(grp.size, np.int64)
    rnk[o] = np.arange(grp.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    pickc = rnk < k_c[grp]
    cand, grp, within = cand[pickc], grp[pickc], within[pickc]
    oq = store.qty[cand]
    part = rng.random(len(cand)) < 0.25
    cq = np.where(part, -np.maximum(1, np.floor(oq * rng.uniform(0.2, 0.9, len(cand)))), -oq).astype(np.int64)
    c_h, c_code, c_desc, c_millis, c_rank = cs[grp], store.code[cand], store.desc[cand], store.millis[cand], within

    # 8. Single-line credit notes.
    ns = sel[kind == KIND_NM]

    # Assemble in file order: invoice, then position within it.
    nm_desc0 = len(prods.desc_table) - len(V.NON_MERCH)
    all_h = np.concatenate([h, nm_h, h[di], c_h, ns])
    all_rank = np.concatenate([rank.astype(float), nm_rank, dup_rank, c_rank.astype(float), np.zeros(len(ns))])
    o = np.lexsort((all_rank, all_h))
    out = MonthLines(
        h=all_h[o],
        code=np.concatenate([prod, NP + nm_code, prod[di], c_code, NP + H.nm[ns]])[o],
        desc=np.concatenate([desc, nm_desc0 + nm_code, desc[di], c_desc, nm_desc0 + H.nm[ns]])[o],
        qty=np.concatenate([qty, nm_qty, qty[di], cq, -np.ones(len(ns), np.int64)])[o],
        millis=np.concatenate([millis, nm_millis, millis[di], c_millis, H.nm_pence[ns] * 10])[o],
        dup=np.concatenate([np.zeros(n + len(nm_h), bool), np.ones(len(di), bool), np.zeros(len(c_h) + len(ns), bool)])[
            o
        ],
        ev_h=ml.ev_h,
        ev_prod=ml.ev_prod,
        ev_pence=ml.ev_pence,
    )
    hk = H.kind[out.h]
    stats = {
        "lines": int(len(out.h)),
        "invoices": int(hi - lo),
        "cancellation_lines": int((hk >= KIND_CANCEL).sum()),
        "anonymous_lines": int((H.cust[out.h] < 0).sum()),
        "non_merch_lines": int((out.code >= NP).sum()),
        "zero_price_lines": int((out.millis == 0).sum()),
        "duplicate_lines": int(out.dup.sum()),
        "missing_description_lines": int((out.desc < 0).sum()),
        "alternative_description_lines": int((out.desc >= NP).sum() - (out.code >= NP).sum()),
        "bundle_lines_added": int(trig.size),
        "revenue": float((out.qty * out.millis).sum() / 1000),
    }
    return out, stats
