"""A small, fast simulated shop in the ``lines`` / ``customers`` / ``events`` contracts.

For the unit tests of ``ml_assets`` (the demo shop's generator, which writes landing files,
is ``devtools.generator``). It plants what the models should find:

- customers buy at their own weekly rate until they churn (exponential lifetime);
  their rate fades in the weeks before churning;
- demand has a yearly Nov-Dec peak for "christmas" categories, a linear trend and
  product promotions (price -25 %, more units);
- ``bundles``: pairs (A, B) where a basket with A also gets B with probability 0.7;
- personal taste: a known customer draws ``favourite_share`` of lines from two
  favourite categories.

Everything is drawn from one ``numpy`` generator seeded by ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

COUNTRIES = ["United Kingdom", "Germany", "France", "Netherlands", "Spain", "Ireland"]
CHANNELS = ["organic", "paid_search", "social", "email", "referral"]


@dataclass
class SimShop:
    lines: pd.DataFrame
    customers: pd.DataFrame
    events: pd.DataFrame
    bundles: list[tuple[str, str]]


def simulate_shop(
    n_customers: int = 1000,
    n_products: int = 300,
    n_categories: int = 10,
    start: str = "2023-01-02",
    n_weeks: int = 104,
    seed: int = 0,
    mean_orders_per_week: float = 0.12,
    mean_lifetime_weeks: float = 40.0,
    basket_mean: float = 6.0,
    n_bundles: int = 5,
    guest_share: float = 0.15,
    cancel_share: float = 0.02,
    favourite_share: float = 0.6,
    with_events: bool = False,
) -> SimShop:
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    weeks = np.arange(n_weeks)
    week_dates = t0 + pd.to_timedelta(weeks * 7, unit="D")
    woy = week_dates.isocalendar().week.to_numpy().astype(float)

    # ---------------------------------------------------------------- catalogue
    cat_of = np.sort(rng.integers(0, n_categories, n_products))
    cat_names = np.array([f"cat_{c:02d}" for c in range(n_categories)])
    christmas = rng.random(n_categories) < 0.4
    prod_w = rng.pareto(1.2, n_products) + 0.05
    price = np.round(np.exp(rng.normal(1.0, 0.6, n_products)), 2)
    codes = np.array([f"P{i:05d}" for i in range(n_products)])
    descs = np.array([f"PRODUCT {i} {cat_names[c].upper()}" for i, c in enumerate(cat_of)])
    # seasonal multiplier per category and week (peak weeks 45-51)
    peak = np.exp(-0.5 * ((woy - 49) / 3.0) ** 2)
    season = 1.0 + np.where(christmas[:, None], 2.5, 0.3) * peak[None, :]  # cats x weeks
    trend = 1.0 + 0.004 * weeks
    promo = rng.random((n_products, n_weeks)) < 0.03

    # ---------------------------------------------------------------- customers
    signup_week = np.where(rng.random(n_customers) < 0.4, 0, rng.integers(0, n_weeks, n_customers))
    life = rng.exponential(mean_lifetime_weeks, n_customers)
    end_week = np.minimum(signup_week + life, n_weeks + 1000)
    rate = np.exp(rng.normal(np.log(mean_orders_per_week), 0.8, n_customers))
    # weekly intensity: rate * season(total) * trend, fading 8 weeks before churn
    tot_season = season.mean(axis=0)
    W = weeks[None, :]
    alive = (W >= signup_week[:, None]) & (W < end_week[:, None])
    fade = np.clip((end_week[:, None] - W) / 8.0, 0.25, 1.0)
    lam = rate[:, None] * tot_season[None, :] * trend[None, :] * fade * alive
    n_orders = rng.poisson(lam)  # customers x weeks
    cust_idx, week_idx = np.nonzero(n_orders)
    reps = n_orders[cust_idx, week_idx]
    o_cust = np.repeat(cust_idx, reps)
    o_week = np.repeat(week_idx, reps)
    # guest orders (anonymous)
    n_guest = int(len(o_cust) * guest_share / (1 - guest_share))
    g_week = rng.choice(n_weeks, n_guest, p=(tot_season * trend) / (tot_season * trend).sum())
    o_cust = np.r_[o_cust, np.full(n_guest, -1)]
    o_week = np.r_[o_week, g_week]
    n_ord = len(o_cust)
    o_time = (
        t0
        + pd.to_timedelta(o_week * 7 + rng.integers(0, 7, n_ord), unit="D")
        + pd.to_timedelta(rng.integers(8 * 60, 20 * 60, n_ord), unit="min")
    )

    # ---------------------------------------------------------------- lines
    sizes = 1 + rng.poisson(basket_mean - 1, n_ord)
    l_ord = np.repeat(np.arange(n_ord), sizes)
    l_week = o_week[l_ord]
    # product choice: weight * season(category, week) * promo boost
    pw = prod_w[:, None] * season[cat_of, :] * np.where(promo, 3.0, 1.0)  # products x weeks
    cdf = np.cumsum(pw, axis=0)
    cdf /= cdf[-1:, :]
    u = rng.random(len(l_ord))
    l_prod = np.empty(len(l_ord), dtype=np.int64)
    for w in range(n_weeks):
        m = l_week == w
        if m.any():
            l_prod[m] = np.searchsorted(cdf[:, w], u[m])
    l_prod = np.minimum(l_prod, n_products - 1)
    # personal taste: known customers draw ~60 % of lines from their two favourite categories
    fav = rng.integers(0, n_categories, (n_customers, 2))
    l_cust = o_cust[l_ord]
    use_fav = (l_cust >= 0) & (rng.random(len(l_ord)) < favourite_share)
    fav_cat = fav[np.maximum(l_cust, 0), rng.integers(0, 2, len(l_ord))]
    for c in range(n_categories):
        members = np.flatnonzero(cat_of == c)
        m = use_fav & (fav_cat == c)
        if len(members) == 0 or not m.any():
            continue
        cw = np.cumsum(prod_w[members])
        l_prod[m] = members[np.minimum(np.searchsorted(cw / cw[-1], rng.random(m.sum())), len(members) - 1)]
    # planted bundles among popular products
    pop = np.argsort(-prod_w)
    pairs = [(int(pop[2 * i]), int(pop[2 * i + 1])) for i in range(n_bundles)]
    add_o, add_p = [], []
    for a, b in pairs:
        has_a = np.unique(l_ord[l_prod == a])
        take = has_a[rng.random(len(has_a)) < 0.7]
        add_o.append(take)
        add_p.append(np.full(len(take), b))
    l_ord = np.r_[l_ord, *add_o]
    l_prod = np.r_[l_prod, *add_p]
    dedup = pd.DataFrame({"o": l_ord, "p": l_prod}).drop_duplicates()
    l_ord, l_prod = dedup["o"].to_numpy(), dedup["p"].to_numpy()
    l_week = o_week[l_ord]
    on_promo = promo[l_prod, l_week]
    qty = (1 + rng.geometric(0.35, len(l_ord))) * np.where(on_promo, 2, 1)
    unit_price = np.round(price[l_prod] * np.where(on_promo, 0.75, 1.0), 2)

    cust_country = rng.choice(COUNTRIES, n_customers, p=[0.75, 0.07, 0.07, 0.04, 0.04, 0.03])
    inv = np.array([f"{500000 + i}" for i in range(n_ord)])
    cid = o_cust[l_ord]
    lines = pd.DataFrame(
        {
            "invoice": inv[l_ord],
            "stock_code": codes[l_prod],
            "description": descs[l_prod],
            "customer_id": pd.array(np.where(cid >= 0, 10000 + cid, 0), dtype="Int64"),
            "invoice_date": o_time[l_ord],
            "quantity": qty.astype("int64"),
            "unit_price": unit_price.astype(float),
            "category": cat_names[cat_of[l_prod]],
            "country": np.where(cid >= 0, cust_country[np.maximum(cid, 0)], "United Kingdom"),
        }
    )
    lines.loc[cid < 0, "customer_id"] = pd.NA
    # cancellations: copy some known-customer lines as 'C' invoices a few days later
    known = np.flatnonzero(cid >= 0)
    canc = rng.choice(known, int(len(known) * cancel_share), replace=False) if len(known) else known
    c = lines.iloc[canc].copy()
    c["invoice"] = "C" + c["invoice"]
    c["quantity"] = -c["quantity"]
    c["invoice_date"] = c["invoice_date"] + pd.Timedelta(days=2)
    lines = pd.concat([lines, c], ignore_index=True)
    end = t0 + pd.Timedelta(weeks=n_weeks)
    lines = lines.loc[lines["invoice_date"] < end]
    lines["net_amount"] = lines["quantity"] * lines["unit_price"]
    lines["is_cancellation"] = lines["invoice"].str.startswith("C")
    lines["is_merchandise"] = True
    lines = lines.sort_values(["invoice_date", "invoice", "stock_code"], ignore_index=True)
    for col in ("invoice", "stock_code", "description", "category", "country"):
        lines[col] = lines[col].astype("string")

    # ---------------------------------------------------------------- profiles
    income = np.exp(rng.normal(10.4, 0.5, n_customers))
    income[rng.random(n_customers) < 0.01] *= 20  # outliers
    birth = rng.integers(1945, 2005, n_customers).astype(float)
    birth[rng.random(n_customers) < 0.1] = np.nan
    customers = pd.DataFrame(
        {
            "customer_id": pd.array(10000 + np.arange(n_customers), dtype="Int64"),
            "birth_year": pd.array(birth, dtype="Float64").astype("Int64"),
            "income": np.where(rng.random(n_customers) < 0.1, np.nan, np.round(income, 0)),
            "household_size": pd.array(rng.integers(1, 6, n_customers), dtype="Int64"),
            "signup_date": t0 + pd.to_timedelta(signup_week * 7, unit="D"),
            "channel": pd.array(rng.choice(CHANNELS, n_customers), dtype="string"),
            "country": pd.array(cust_country, dtype="string"),
        }
    )

    events = pd.DataFrame()
    if with_events:
        # views before each known order (engagement), plus noise
        o_known = np.flatnonzero(o_cust >= 0)
        n_views = rng.poisson(4, len(o_known))
        e_ord = np.repeat(o_known, n_views)
        e_time = o_time[e_ord] - pd.to_timedelta(rng.integers(1, 72 * 60, len(e_ord)), unit="min")
        kind = rng.choice(["view", "view", "view", "cart", "remove_from_cart"], len(e_ord))
        events = pd.DataFrame(
            {
                "user_id": pd.array(10000 + o_cust[e_ord], dtype="Int64"),
                "event_time": e_time,
                "event_type": pd.array(kind, dtype="string"),
                "product_id": rng.integers(0, n_products, len(e_ord)),
                "user_session": pd.array([f"s{o}" for o in e_ord], dtype="string"),
            }
        )
    bundles = [(str(codes[a]), str(codes[b])) for a, b in pairs]
    return SimShop(lines, customers, events, bundles)
