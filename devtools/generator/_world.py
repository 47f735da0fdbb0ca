"""The latent world: calendar, customers, products, bundles and promotions.

Nothing here writes files. Every array is indexed by a dense position (customer 0..n-1,
product 0..n-1, day 0..N_DAYS-1); ids and codes are looked up through the tables.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from . import _vocab as V

START = np.datetime64("2024-01-01", "D")
END = np.datetime64("2025-12-31", "D")
N_DAYS = int((END - START).astype(np.int64)) + 1  # 731
DAY_SECONDS = 86400
_MONTHS = np.arange(np.datetime64("2024-01", "M"), np.datetime64("2026-02", "M"))  # 25 starts
MONTH_START_DAY = (_MONTHS.astype("datetime64[D]") - START).astype(np.int64)  # last = N_DAYS
N_MONTHS = len(MONTH_START_DAY) - 1  # 24
MONTH_LABELS = [str(m) for m in _MONTHS[:-1]]  # 'YYYY-MM'

# Relative order volume by month of year (Jan..Dec), UCI-like: a slow first half,
# a ramp from September and a November peak.
MONTH_FACTORS = np.array([0.72, 0.70, 0.86, 0.80, 0.88, 0.86, 0.86, 0.90, 1.12, 1.30, 1.78, 1.40])
# Orders by weekday (Mon..Sun): almost nothing on Saturday, as in the UCI data.
WEEKDAY_TX = np.array([1.0, 1.12, 1.08, 1.25, 0.85, 0.02, 0.62])
# Browsing by weekday: the web shop is open every day.
WEEKDAY_BR = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.85, 0.95])
# Order hour (local = UTC) and browsing hour weights.
HOUR_TX = np.array([0, 0, 0, 0, 0, 0, 0, 1, 2.5, 6, 11, 13, 15, 13, 12, 10, 6, 3, 1.2, 0.8, 0.4, 0, 0, 0], float)
HOUR_BR = np.array(
    [1.2, 0.8, 0.5, 0.3, 0.3, 0.4, 0.8, 1.6, 2.6, 3.2, 3.6, 3.8, 4, 3.9, 3.8, 3.7, 3.6, 3.8, 4.2, 4.8, 5.2, 5, 4, 2.6],
    float,
)
TREND_PER_YEAR = 1.30  # growth of anonymous demand and of sign-ups per year
CLOSED_TX = 0.04  # order intensity on the Christmas shutdown days (Dec 23 - Jan 3)

COUNTRIES: tuple[str, ...] = (V.HOME_COUNTRY,) + tuple(c for c, _ in V.OTHER_COUNTRIES)
_OTHER_W = np.array([w for _, w in V.OTHER_COUNTRIES], float)


def country_probs(home_share: float) -> np.ndarray:
    p = np.concatenate([[home_share], (1 - home_share) * _OTHER_W / _OTHER_W.sum()])
    return p / p.sum()


def pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Categorical draws by inverse CDF (faster and steadier than rng.choice with p)."""
    cdf = np.cumsum(weights, dtype=float)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(cdf) - 1)


def rowwise_pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each row of a row-normalised cumulative matrix, the column hit by u."""
    return np.minimum((cum < u[:, None]).sum(axis=1), cum.shape[1] - 1)


# --------------------------------------------------------------------------- calendar


@dataclass
class Calendar:
    weekday: np.ndarray  # 0 = Monday
    month: np.ndarray  # 0..23
    season: np.ndarray
    trend: np.ndarray
    discount: np.ndarray  # promotion price cut (fraction) per day
    lift: np.ndarray  # promotion demand lift per day
    i_tx: np.ndarray  # order intensity per day
    i_br: np.ndarray  # browsing intensity per day
    c_tx: np.ndarray  # cumulative order intensity at day starts (N_DAYS + 1)
    c_br: np.ndarray
    promotions: list[dict]

    @staticmethod
    def to_op(c: np.ndarray, i: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Calendar day (float, 0..N_DAYS) -> operational time (cumulative intensity)."""
        x = np.clip(np.asarray(x, float), 0, N_DAYS)
        j = np.minimum(np.floor(x).astype(np.int64), N_DAYS - 1)
        return c[j] + (x - j) * i[j]

    @staticmethod
    def from_op(c: np.ndarray, i: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Operational time -> calendar day (float)."""
        j = np.clip(np.searchsorted(c, u, side="right") - 1, 0, N_DAYS - 1)
        frac = np.clip((u - c[j]) / i[j], 0.0, 0.999999)
        return j + frac


def build_calendar(rng: np.random.Generator) -> Calendar:
    days = START + np.arange(N_DAYS)
    weekday = (np.arange(N_DAYS) + 0) % 7  # 2024-01-01 is a Monday
    month = np.searchsorted(MONTH_START_DAY, np.arange(N_DAYS), side="right") - 1
    moy = month % 12
    dom = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    dim = MONTH_START_DAY[month + 1] - MONTH_START_DAY[month]
    pos = moy + (dom + 0.5) / dim - 0.5
    xp = np.arange(-1, 13)
    fp = np.concatenate([[MONTH_FACTORS[11]], MONTH_FACTORS, [MONTH_FACTORS[0]]])
    season = np.interp(pos, xp, fp)
    closed = ((moy == 11) & (dom >= 22)) | ((moy == 0) & (dom <= 2))
    trend = TREND_PER_YEAR ** (np.arange(N_DAYS) / 365.25)

    discount = np.zeros(N_DAYS)
    lift = np.ones(N_DAYS)
    promotions: list[dict] = []
    for year in (2024, 2025):
        windows = [
            ("spring sale", f"{year}-02-05", f"{year}-04-21"),
            ("summer sale", f"{year}-06-03", f"{year}-08-18"),
        ]
        for name, lo, hi in windows:
            lo_d = int((np.datetime64(lo) - START).astype(np.int64))
            hi_d = int((np.datetime64(hi) - START).astype(np.int64))
            mondays = [d for d in range(lo_d, hi_d + 1) if weekday[d] == 0]
            start = int(mondays[int(rng.integers(len(mondays)))])
            promotions.append(
                {
                    "name": name,
                    "start_day": start,
                    "discount": float(rng.choice([0.15, 0.2, 0.25, 0.3])),
                    "lift": float(rng.choice([1.5, 1.6, 1.7, 1.8])),
                }
            )
        # Black Friday week: Monday..Sunday around the Friday after the 4th Thursday of November.
        nov1 = int((np.datetime64(f"{year}-11-01") - START).astype(np.int64))
        first_thu = nov1 + (3 - weekday[nov1]) % 7
        bf = first_thu + 21 + 1
        promotions.append(
            {
                "name": "black friday",
                "start_day": int(bf - 4),
                "discount": float(rng.choice([0.2, 0.25, 0.3])),
                "lift": float(rng.choice([1.8, 1.9, 2.0])),
            }
        )
    promotions.sort(key=lambda p: p["start_day"])
    for p in promotions:
        s = p["start_day"]
        discount[s : s + 7] = p["discount"]
        lift[s : s + 7] = p["lift"]
        p["start"] = str(START + s)
        p["end"] = str(START + s + 6)
    promotions = [{k: p[k] for k in ("name", "start", "end", "discount", "lift")} for p in promotions]

    # Order intensity carries half the growth (a growing shop sells more to each customer);
    # the other half comes from cohorts (sign-ups grow with the trend) and anonymous demand.
    i_tx = season * WEEKDAY_TX[weekday] * lift * np.where(closed, CLOSED_TX, 1.0) * trend**0.5
    i_br = season**0.6 * WEEKDAY_BR[weekday] * (1 + 0.6 * (lift - 1)) * np.where(closed, 0.6, 1.0)
    i_tx = i_tx / i_tx.mean()
    i_br = i_br / i_br.mean()
    c_tx = np.concatenate([[0.0], np.cumsum(i_tx)])
    c_br = np.concatenate([[0.0], np.cumsum(i_br)])
    return Calendar(weekday, month, season, trend, discount, lift, i_tx, i_br, c_tx, c_br, promotions)


# --------------------------------------------------------------------------- products


@dataclass
class Products:
    n: int
    code: np.ndarray  # object array of stock codes
    product_id: np.ndarray  # int64
    cat: np.ndarray  # category index
    brand: np.ndarray  # index into V.BRANDS, -1 = no brand
    desc: list[str]  # primary description (as written on invoices, may have a trailing space)
    alt: np.ndarray  # index into desc_table of a second wording, -1 = none
    price_pts: np.ndarray  # (n, 3) price in pence: before, after 1st and after 2nd change
    change_day: np.ndarray  # (n, 2) day of the changes (N_DAYS = never)
    launch_m: np.ndarray  # first month on sale
    disc_m: np.ndarray  # first month no longer on sale (N_MONTHS = never discontinued)
    pop: np.ndarray  # popularity weight (Zipf-like)
    pack: np.ndarray  # log-quantity offset (cheap things are bought by the dozen)
    category_id: np.ndarray  # per category, REES46-style large integers
    desc_table: list[str]  # primary + alternative + non-merch descriptions
    code_table: list[str]  # product codes + non-merch codes
    bundles: list[np.ndarray]
    bundle_of: np.ndarray  # product -> bundle index, -1 = none
    bundle_members: np.ndarray  # (B, 4) product indices, -1 padded

    @property
    def nm_base(self) -> int:
        return self.n

    def price_cents(self, prod: np.ndarray, day: np.ndarray) -> np.ndarray:
        k = (day >= self.change_day[prod, 0]).astype(np.int64) + (day >= self.change_day[prod, 1])
        return self.price_pts[prod, k]

    def available(self, m: int) -> np.ndarray:
        return (self.launch_m <= m) & (self.disc_m > m)


def _snap_pence(gbp: np.ndarray) -> np.ndarray:
    """Shop-like prices in pence: pennies below 1 GBP, multiples of 5p above."""
    p = np.asarray(gbp, float) * 100
    small = np.round(p)
    big = np.round(p / 5) * 5
    out = np.where(p < 100, small, big)
    return np.maximum(out, 10).astype(np.int64)


def _stock_bases(rng: np.random.Generator, n: int) -> np.ndarray:
    ranges = [
        (10000, 18000, 0.12),
        (20000, 24000, 0.45),
        (35000, 38000, 0.04),
        (40000, 49000, 0.08),
        (70000, 73000, 0.07),
        (79000, 80000, 0.06),
        (82000, 86000, 0.14),
        (90000, 91000, 0.04),
    ]
    cand = np.concatenate([np.arange(lo, hi) for lo, hi, _ in ranges])
    w = np.concatenate([np.full(hi - lo, wt / (hi - lo)) for lo, hi, wt in ranges])
    if n > len(cand):
        raise ValueError(f"too many products ({n}) for the stock code space")
    # Weighted sampling without replacement: Efraimidis-Spirakis keys.
    keys = np.log(rng.random(len(cand))) / w
    return cand[np.argsort(-keys, kind="stable")[:n]]


def build_products(rng: np.random.Generator, n: int, cal: Calendar) -> Products:
    cats = V.CATEGORIES
    K = len(cats)
    cat_w = np.array([c.weight for c in cats])
    size_w = np.array([s[2] for s in V.SIZES])
    n_adj, n_col = len(V.ADJECTIVES), len(V.COLOURS)

    # Designs: one stock code base each; ~12% are families of 2-4 colour variants.
    fam = np.where(rng.random(n) < 0.12, rng.integers(2, 5, n), 1)
    fam = fam[: np.searchsorted(np.cumsum(fam), n) + 1]
    fam[-1] -= fam.sum() - n
    nd = len(fam)
    d_cat = pick(rng, cat_w, nd)
    d_adj = np.empty(nd, np.int64)
    d_noun = np.empty(nd, np.int64)
    d_size = np.empty(nd, np.int64)
    for k in range(K):
        idx = np.flatnonzero(d_cat == k)
        n_noun = len(cats[k].nouns)
        grid_w = np.repeat(size_w, n_adj * n_noun)  # key = size * (A*N) + adj * N + noun
        keys = np.log(rng.random(grid_w.size)) / grid_w
        chosen = np.argsort(-keys, kind="stable")[: len(idx)]
        if len(chosen) < len(idx):
            raise ValueError("catalogue too large for the description vocabulary")
        d_size[idx] = chosen // (n_adj * n_noun)
        d_adj[idx] = (chosen // n_noun) % n_adj
        d_noun[idx] = chosen % n_noun
    bases = _stock_bases(rng, nd)

    # Expand designs to products.
    design = np.repeat(np.arange(nd), fam)
    cat = d_cat[design]
    colour = np.full(n, -1)
    is_fam = fam[design] > 1
    with_colour = is_fam | (rng.random(n) < 0.4)
    colour[with_colour] = rng.integers(0, n_col, with_colour.sum())
    # Family members get distinct colours.
    for d in np.flatnonzero(fam > 1):
        lo = int(np.sum(fam[:d]))
        colour[lo : lo + fam[d]] = rng.choice(n_col, fam[d], replace=False)

    codes = np.empty(n, dtype=object)
    descs: list[str] = []
    for i in range(n):
        d = design[i]
        size_word = V.SIZES[d_size[d]][0]
        parts = [
            size_word,
            V.COLOURS[colour[i]] if colour[i] >= 0 else "",
            V.ADJECTIVES[d_adj[d]],
            cats[cat[i]].nouns[d_noun[d]],
        ]
        descs.append(" ".join(p for p in parts if p))
        codes[i] = str(bases[d])
    # Letter suffixes for families (colour initial, or the next free letter).
    for d in np.flatnonzero(fam > 1):
        lo = int(np.sum(fam[:d]))
        used: set[str] = set()
        for i in range(lo, lo + fam[d]):
            letter = V.COLOURS[colour[i]][0]
            if letter in used:
                letter = next(c for c in "ABCDEFGHJKLMNSTUVWXYZ" if c not in used)
            used.add(letter)
            codes[i] = f"{bases[d]}{letter}"
    # A few singletons also carry a letter, as in the UCI codes ('85123A').
    lone = np.flatnonzero((fam[design] == 1) & (rng.random(n) < 0.05))
    for i in lone:
        codes[i] = codes[i] + "A"
    # UCI descriptions often end with a stray space.
    trailing = rng.random(n) < 0.08
    descs = [s + " " if t else s for s, t in zip(descs, trailing)]

    # Second wordings for ~6% of the stock codes.
    alt = np.full(n, -1, np.int64)
    alt_descs: list[str] = []
    has_alt = np.flatnonzero(rng.random(n) < 0.06)
    swap_order = rng.permutation(len(V.DESCRIPTION_SWAPS))
    for j, i in enumerate(has_alt):
        base = descs[i].strip()
        new = None
        for s in np.roll(swap_order, j):
            a, b = V.DESCRIPTION_SWAPS[s]
            if a in base:
                new = base.replace(a, b, 1)
                break
        alt[i] = n + len(alt_descs)
        alt_descs.append(new if new else base + " ASSTD")

    # Brands: each category draws from its own handful of brands.
    brand = np.empty(n, np.int64)
    nb = len(V.BRANDS)
    cat_brands = [rng.choice(nb, int(rng.integers(3, 7)), replace=False) for _ in range(K)]
    for k in range(K):
        idx = np.flatnonzero(cat == k)
        brand[idx] = cat_brands[k][rng.integers(0, len(cat_brands[k]), len(idx))]
    brand[rng.random(n) < 0.05] = -1

    # Prices with up to two changes (mostly rises).
    median = np.array([c.median_price for c in cats])[cat]
    size_f = np.array([s[1] for s in V.SIZES])[d_size[design]]
    p0 = _snap_pence(median * size_f * rng.lognormal(0.0, 0.5, n))
    n_changes = pick(rng, np.array([0.45, 0.4, 0.15]), n)
    ch = np.sort(rng.integers(30, N_DAYS - 30, (n, 2)), axis=1)
    ch[n_changes < 2, 1] = N_DAYS
    ch[n_changes < 1, 0] = N_DAYS
    m1 = np.clip(rng.normal(0.06, 0.05, n), -0.15, 0.3)
    m2 = np.clip(rng.normal(0.05, 0.05, n), -0.15, 0.3)
    p1 = _snap_pence(p0 / 100 * (1 + m1))
    p2 = _snap_pence(p1 / 100 * (1 + m2))
    price_pts = np.stack([p0, p1, p2], axis=1)

    # Life cycle: most products exist from the start, some launch or retire during the window.
    launch_m = np.where(rng.random(n) < 0.22, rng.integers(1, N_MONTHS - 2, n), 0)
    disc_m = np.full(n, N_MONTHS)
    retire = (rng.random(n) < 0.12) & (launch_m + 4 < N_MONTHS - 1)
    disc_m[retire] = rng.integers(launch_m[retire] + 4, N_MONTHS)

    # Zipf-like popularity over a random rank order.
    rank = rng.permutation(n)
    pop = 1.0 / (rank + 20.0)
    pack = -0.45 * np.log(p0 / (median * 100)) + rng.normal(0, 0.25, n)

    product_id = 1_000_000 + np.sort(rng.choice(59_000_000, n, replace=False))
    product_id = product_id[rng.permutation(n)].astype(np.int64)
    category_id = (2_053_013_550_000_000_000 + rng.choice(10**13, K, replace=False)).astype(np.int64)

    # Bundles: products bought together, chosen among the mid-popular, always-available ones.
    n_bundles = int(np.clip(round(n / 80), 8, 60))
    stable = (launch_m == 0) & (disc_m == N_MONTHS)
    anchors_pool = np.flatnonzero(stable & (rank >= 5) & (rank < max(60, n // 10)))
    partner_pool = np.flatnonzero(stable & (rank >= 10) & (rank < max(150, n // 5)))
    anchors_pool = anchors_pool[rng.permutation(len(anchors_pool))]
    partner_pool = partner_pool[rng.permutation(len(partner_pool))]
    used = np.zeros(n, bool)
    bundles: list[np.ndarray] = []
    pi = 0
    for a in anchors_pool:
        if len(bundles) >= n_bundles:
            break
        if used[a]:
            continue
        size = int(pick(rng, np.array([0.6, 0.3, 0.1]), 1)[0]) + 2
        members = [int(a)]
        while len(members) < size and pi < len(partner_pool):
            p = int(partner_pool[pi])
            pi += 1
            if not used[p] and p not in members:
                members.append(p)
        if len(members) < 2:
            break
        used[members] = True
        bundles.append(np.array(members, np.int64))
    bundle_of = np.full(n, -1, np.int64)
    bundle_members = np.full((len(bundles), 4), -1, np.int64)
    for b, members in enumerate(bundles):
        bundle_of[members] = b
        bundle_members[b, : len(members)] = members

    desc_table = descs + alt_descs + [d for _, d in V.NON_MERCH]
    code_table = list(codes) + [c for c, _ in V.NON_MERCH]
    return Products(
        n,
        codes,
        product_id,
        cat,
        brand,
        descs,
        alt,
        price_pts,
        ch,
        launch_m,
        disc_m,
        pop,
        pack,
        category_id,
        desc_table,
        code_table,
        bundles,
        bundle_of,
        bundle_members,
    )


# --------------------------------------------------------------------------- customers


@dataclass
class Customers:
    n: int
    ids: np.ndarray
    signup_day: np.ndarray  # int, negative = signed up before the window
    start: np.ndarray  # float day from which the customer acts in the window
    churn_day: np.ndarray  # float day of leaving for good (may lie beyond the window)
    end: np.ndarray  # min(floor(churn_day), N_DAYS): last active day + 1
    never_buyer: np.ndarray
    rate: np.ndarray  # orders per unit of order intensity (set by calibration)
    rate_rel: np.ndarray  # latent purchase propensity, mean 1
    spend: np.ndarray  # log-quantity offset
    basket: np.ndarray  # basket size multiplier, mean 1
    hazard: np.ndarray  # churn hazard per year
    cancel_w: np.ndarray  # propensity to cancel orders
    channel: np.ndarray
    country: np.ndarray
    taste_cum: np.ndarray  # (n, K) float32 cumulative category preferences
    favs: np.ndarray  # (n, F) favourite products
    table: dict[str, np.ndarray]  # the customers.csv columns as strings (None = empty)


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower().replace("'", "")


def build_customers(rng: np.random.Generator, n: int, cal: Calendar, prods: Products) -> Customers:
    K = len(V.CATEGORIES)
    existing = rng.random(n) < 0.30
    n_new = int((~existing).sum())
    dens = cal.trend * (0.6 + 0.4 * cal.season)
    new_days = pick(rng, dens, n_new)
    signup = np.empty(n, np.int64)
    signup[existing] = rng.integers(-3 * 365, 0, existing.sum())
    signup[~existing] = new_days
    signup = np.sort(signup)  # ids are given in sign-up order
    ids = 10000 + np.arange(n, dtype=np.int64)
    start = np.maximum(signup, 0).astype(float)

    wholesale = rng.random(n) < 0.08
    rate_rel = rng.gamma(0.9, 1 / 0.9, n) * np.where(wholesale, 1.6, 1.0)
    rate_rel /= rate_rel.mean()
    spend = rng.normal(0.0, 0.5, n) + np.where(wholesale, 1.3, 0.0)
    basket = rng.lognormal(-0.5 * 0.35**2, 0.35, n) * np.where(wholesale, 1.3, 1.0)

    ch_share = np.array([c[1] for c in V.CHANNELS])
    ch_mult = np.array([c[2] for c in V.CHANNELS])
    channel = pick(rng, ch_share, n)
    # Churn: a hazard per year, higher for paid channels and for light buyers.
    hazard = rng.gamma(2.0, 0.55 / 2.0, n) * ch_mult[channel] * rate_rel**-0.35
    churn_day = start + rng.exponential(1.0, n) * 365.25 / hazard
    end = np.minimum(np.floor(churn_day), N_DAYS)  # active on days [start, end)
    never_buyer = rng.random(n) < 0.04
    cancel_w = rng.lognormal(0, 0.6, n) * (hazard / hazard.mean()) ** 0.5

    country = pick(rng, country_probs(0.86), n)

    # Category tastes: Dirichlet around the shop's overall category mix.
    cat_w = np.array([c.weight for c in V.CATEGORIES])
    g = rng.gamma(np.broadcast_to(4.0 * cat_w / cat_w.sum(), (n, K)) + 0.02)
    taste = g / g.sum(axis=1, keepdims=True)
    taste_cum = np.cumsum(taste, axis=1).astype(np.float32)
    taste_cum[:, -1] = 1.0

    # Favourite products the customer re-orders.
    F = 8
    fav_cat = rowwise_pick(np.repeat(taste_cum, F, axis=0), rng.random(n * F))
    favs = np.empty(n * F, np.int64)
    u = rng.random(n * F)
    for k in range(K):
        idx = np.flatnonzero(fav_cat == k)
        members = np.flatnonzero(prods.cat == k)
        cdf = np.cumsum(prods.pop[members])
        cdf /= cdf[-1]
        favs[idx] = members[np.minimum(np.searchsorted(cdf, u[idx], side="right"), len(members) - 1)]
    favs = favs.reshape(n, F)

    # Demographics.
    first = np.array(V.FIRST_NAMES + V.ACCENTED_FIRST_NAMES, dtype=object)
    last = np.array(V.LAST_NAMES + V.ACCENTED_LAST_NAMES, dtype=object)
    fw = np.concatenate(
        [
            np.full(len(V.FIRST_NAMES), 0.9 / len(V.FIRST_NAMES)),
            np.full(len(V.ACCENTED_FIRST_NAMES), 0.1 / len(V.ACCENTED_FIRST_NAMES)),
        ]
    )
    lw = np.concatenate(
        [
            np.full(len(V.LAST_NAMES), 0.9 / len(V.LAST_NAMES)),
            np.full(len(V.ACCENTED_LAST_NAMES), 0.1 / len(V.ACCENTED_LAST_NAMES)),
        ]
    )
    fi = pick(rng, fw, n)
    li = pick(rng, lw, n)
    if not ((fi >= len(V.FIRST_NAMES)).any() or (li >= len(V.LAST_NAMES)).any()):
        fi[0] = len(V.FIRST_NAMES)  # make sure the file has at least one accented name
        li[0] = len(V.LAST_NAMES)
    full_name = first[fi] + " " + last[li]
    first_a = np.array([_ascii(s) for s in first], dtype=object)
    last_a = np.array([_ascii(s) for s in last], dtype=object)
    dom = np.array(V.EMAIL_DOMAINS, dtype=object)[pick(rng, np.ones(len(V.EMAIL_DOMAINS)), n)]
    num = rng.integers(1, 99, n)
    email = np.where(
        rng.random(n) < 0.5, first_a[fi] + "." + last_a[li], first_a[fi] + last_a[li] + num.astype(str).astype(object)
    )
    email = email + "@" + dom
    # Unique e-mails: append the id where a name repeats.
    _, first_pos, inv = np.unique(email.astype(str), return_index=True, return_inverse=True)
    dup = np.arange(n) != first_pos[inv]
    email[dup] = [e.replace("@", f".{i}@") for e, i in zip(email[dup], ids[dup])]

    age = np.clip(rng.normal(44, 13, n) + 4 * spend, 18, 88)
    birth = (START - (age * 365.25).astype(np.int64)).astype("datetime64[D]").astype(str).astype(object)
    birth[rng.choice(n, int(round(0.06 * n)), replace=False)] = None
    income_v = np.round(rng.lognormal(np.log(36000), 0.45, n) * np.exp(0.15 * spend), -2)
    n_out = max(1, int(round(0.003 * n)))
    out_idx = rng.choice(n, n_out, replace=False)
    income_v[out_idx] = np.round(income_v[out_idx] * rng.uniform(40, 250, n_out), -3)
    income = np.array([f"{v:.2f}" for v in income_v], dtype=object)
    miss = rng.choice(np.setdiff1d(np.arange(n), out_idx), int(round(0.10 * n)), replace=False)
    income[miss] = None
    household = np.clip(1 + rng.poisson(1.4, n), 1, 9).astype(str).astype(object)
    signup_date = (START + signup).astype(str).astype(object)
    ch_names = np.array([c[0] for c in V.CHANNELS], dtype=object)
    table = {
        "customer_id": ids.astype(str).astype(object),
        "full_name": full_name,
        "email": email,
        "birth_date": birth,
        "income": income,
        "household_size": household,
        "signup_date": signup_date,
        "channel": ch_names[channel],
        "country": np.array(COUNTRIES, dtype=object)[country],
    }
    return Customers(
        n,
        ids,
        signup,
        start,
        churn_day,
        end,
        never_buyer,
        np.zeros(n),
        rate_rel,
        spend,
        basket,
        hazard,
        cancel_w,
        channel,
        country,
        taste_cum,
        favs,
        table,
    )
