"""Clickstream events month by month: purchase sessions mirror the orders, plus browsing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._orders import CategorySampler, Headers, MonthLines, Params, draw_categories
from ._world import (
    DAY_SECONDS,
    HOUR_BR,
    MONTH_START_DAY,
    Calendar,
    Customers,
    Products,
    pick,
)

VIEW, CART, REMOVE, PURCHASE = 0, 1, 2, 3
EVENT_NAMES = ("view", "cart", "remove_from_cart", "purchase")
ANON_BASE = 900_000_000
_HEX = np.array([f"{i:02x}" for i in range(256)], dtype="S2")


@dataclass
class MonthEvents:
    t: np.ndarray  # seconds since 2024-01-01
    etype: np.ndarray
    prod: np.ndarray
    pence: np.ndarray
    user: np.ndarray
    session: np.ndarray  # index into uuids
    uuids: np.ndarray  # (n_sessions, 36) uint8, UUID text


def make_uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random version-4 UUID strings as an (n, 36) uint8 array of ASCII."""
    b = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    hx = np.ascontiguousarray(_HEX[b]).view(np.uint8).reshape(n, 32)
    out = np.full((n, 36), ord("-"), np.uint8)
    for src, dst, w in ((0, 0, 8), (8, 9, 4), (12, 14, 4), (16, 19, 4), (20, 24, 12)):
        out[:, dst : dst + w] = hx[:, src : src + w]
    return out


def month_browse_sessions(
    m, cal: Calendar, cust: Customers, P: Params, n_known_orders_total: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Browsing-only sessions of month m: (start second, customer index or -1, user id), by start."""
    ms, me = MONTH_START_DAY[m], MONTH_START_DAY[m + 1]
    # Known customers (never after they churned), in proportion to their order rate.
    a = np.maximum(cust.start, ms)
    b = np.minimum(cust.end, me)
    live = b > a
    a_op = Calendar.to_op(cal.c_br, cal.i_br, a)
    b_op = Calendar.to_op(cal.c_br, cal.i_br, b)
    lam = np.where(live, P.browse_per_order * cust.rate * (b_op - a_op), 0.0)
    cnt = rng.poisson(lam)
    kc = np.repeat(np.arange(cust.n), cnt)
    u = a_op[kc] + rng.random(len(kc)) * (b_op[kc] - a_op[kc])
    kday = np.floor(Calendar.from_op(cal.c_br, cal.i_br, u)).astype(np.int64)
    kday = np.clip(kday, a[kc].astype(np.int64), np.maximum(b[kc].astype(np.int64) - 1, a[kc].astype(np.int64)))
    # Anonymous visitors, growing with the trend.
    w = cal.i_br * cal.trend
    share = w[ms:me].sum() / w.sum()
    n_anon = int(rng.poisson(P.anon_browse_per_order * n_known_orders_total * share))
    aday = ms + pick(rng, w[ms:me], n_anon)
    pool = max(200, 8 * cust.n)
    auser = ANON_BASE + np.floor(pool * rng.random(n_anon) ** 2.5).astype(np.int64)
    day = np.concatenate([kday, aday])
    sec = pick(rng, HOUR_BR, len(day)) * 3600 + rng.integers(0, 3600, len(day))
    c = np.concatenate([kc, np.full(n_anon, -1)])
    user = np.concatenate([cust.ids[kc], auser])
    start = day * DAY_SECONDS + sec
    o = np.argsort(start, kind="stable")
    return start[o], c[o], user[o]


def block_events(
    m: int,
    d0: int,
    d1: int,
    lines: MonthLines,
    H: Headers,
    cal: Calendar,
    cust: Customers,
    prods: Products,
    P: Params,
    rng: np.random.Generator,
    sampler: CategorySampler,
    browse: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[MonthEvents, dict]:
    """Events of days [d0, d1) of month m: the purchase sessions of ``lines`` and the browsing
    sessions ``browse`` (start second, customer index or -1, user id) starting on those days."""
    parts_t, parts_e, parts_p, parts_c, parts_s = [], [], [], [], []

    # ---- purchase sessions: one per order of a known customer; purchases = its lines.
    sess_h, line_s = np.unique(lines.ev_h, return_inverse=True)
    ns_p = len(sess_h)
    n_per = np.bincount(line_s, minlength=ns_p)
    inv_t = H.t[sess_h]
    dur = np.clip(60 + 45 * n_per * rng.lognormal(0, 0.4, ns_p), 60, 5.5 * 3600).astype(np.int64)
    day_start = inv_t // DAY_SECONDS * DAY_SECONDS
    s_start = np.maximum(inv_t - dur, day_start)
    span = np.maximum(inv_t - s_start, 1)
    nl = len(line_s)
    day_l = inv_t[line_s] // DAY_SECONDS
    cart_t = s_start[line_s] + np.floor(rng.random(nl) * span[line_s]).astype(np.int64)
    view = rng.random(nl) < P.view_before_cart
    view_t = np.maximum(cart_t - rng.integers(5, 90, nl), s_start[line_s])
    list_pence = np.round(prods.price_cents(lines.ev_prod, day_l) * (1 - cal.discount[day_l])).astype(np.int64)
    parts_t += [view_t[view], cart_t, inv_t[line_s]]
    parts_e += [np.full(view.sum(), VIEW), np.full(nl, CART), np.full(nl, PURCHASE)]
    parts_p += [lines.ev_prod[view], lines.ev_prod, lines.ev_prod]
    parts_c += [list_pence[view], list_pence, lines.ev_pence]
    parts_s += [line_s[view], line_s, line_s]
    # Extra products looked at (sometimes carted and removed) during the purchase session.
    n_extra = rng.poisson(P.extra_views_per_line * n_per)
    es = np.repeat(np.arange(ns_p), n_extra)
    if es.size:
        ec = H.cust[sess_h[es]]
        eprod = sampler.draw(rng, draw_categories(rng, cust, ec, m))
        ev_t = s_start[es] + np.floor(rng.random(es.size) * span[es]).astype(np.int64)
        eday = inv_t[es] // DAY_SECONDS
        ep = np.round(prods.price_cents(eprod, eday) * (1 - cal.discount[eday])).astype(np.int64)
        carted = rng.random(es.size) < 0.15
        ec_t = np.minimum(ev_t + rng.integers(5, 60, es.size), inv_t[es] - 1)
        er_t = np.minimum(ec_t + rng.integers(10, 300, es.size), inv_t[es] - 1)
        parts_t += [ev_t, ec_t[carted], er_t[carted]]
        parts_e += [np.full(es.size, VIEW), np.full(carted.sum(), CART), np.full(carted.sum(), REMOVE)]
        parts_p += [eprod, eprod[carted], eprod[carted]]
        parts_c += [ep, ep[carted], ep[carted]]
        parts_s += [es, es[carted], es[carted]]

    # ---- browsing sessions without a purchase.
    b_start, b_c, b_user = browse
    nb = len(b_start)
    n_views = np.minimum(rng.geometric(0.25, nb), 40)
    bs = np.repeat(np.arange(nb), n_views)
    focus = draw_categories(rng, cust, b_c, m)
    vcat = np.where(rng.random(bs.size) < 0.7, focus[bs], draw_categories(rng, cust, b_c[bs], m))
    vprod = sampler.draw(rng, vcat)
    gaps = rng.exponential(45, bs.size).astype(np.int64) + 1
    cs = np.cumsum(gaps)
    first = np.cumsum(n_views) - n_views
    offs = cs - np.repeat(cs[first] - gaps[first], n_views)
    day_end = b_start // DAY_SECONDS * DAY_SECONDS + DAY_SECONDS - 1
    vt = np.minimum(b_start[bs] + offs, day_end[bs])
    vday = vt // DAY_SECONDS
    vp = np.round(prods.price_cents(vprod, vday) * (1 - cal.discount[vday])).astype(np.int64)
    last = first + n_views - 1  # the last product viewed may go to the cart
    carted = rng.random(nb) < 0.18
    removed = carted & (rng.random(nb) < 0.5)
    ct = np.minimum(vt[last] + rng.integers(5, 60, nb), day_end)
    rt = np.minimum(ct + rng.integers(20, 600, nb), day_end)
    s_off = ns_p
    parts_t += [vt, ct[carted], rt[removed]]
    parts_e += [np.full(bs.size, VIEW), np.full(carted.sum(), CART), np.full(removed.sum(), REMOVE)]
    parts_p += [vprod, vprod[last][carted], vprod[last][removed]]
    parts_c += [vp, vp[last][carted], vp[last][removed]]
    parts_s += [bs + s_off, np.flatnonzero(carted) + s_off, np.flatnonzero(removed) + s_off]

    t = np.concatenate(parts_t).astype(np.int64)
    e = np.concatenate(parts_e).astype(np.int64)
    p = np.concatenate(parts_p).astype(np.int64)
    pc = np.concatenate(parts_c).astype(np.int64)
    s = np.concatenate(parts_s).astype(np.int64)
    users = np.concatenate([cust.ids[H.cust[sess_h]], b_user]).astype(np.int64)
    o = np.lexsort((e, s, t))
    ev = MonthEvents(
        t=t[o], etype=e[o], prod=p[o], pence=pc[o], user=users[s[o]], session=s[o], uuids=make_uuids(rng, ns_p + nb)
    )
    assert (ev.t >= d0 * DAY_SECONDS).all() and (ev.t < d1 * DAY_SECONDS).all()
    stats = {
        "events": int(len(t)),
        "sessions": int(ns_p + nb),
        "purchase_sessions": int(ns_p),
        "anonymous_sessions": int((b_c < 0).sum()),
        **{f"{name}_events": int((e == i).sum()) for i, name in enumerate(EVENT_NAMES)},
    }
    return ev, stats
