"""Customer features as of a cutoff date, with a leakage guard.

:func:`customer_features` builds one row per customer from data *strictly before*
the cutoff ``T``: every input (lines, events, profile sign-up dates) is cut at ``T``
first, by :func:`before_cutoff`, so rows at or after ``T`` cannot influence the
result (tests change and add such rows and compare frames).

:func:`churn_labels` gives the label for the window ``[T, T + horizon)``.
:class:`FeatureEncoder` turns the frame into a numeric matrix (one-hot for country /
channel, optional median imputation) with the same columns for train and score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml_assets.data import prepare_customers, prepare_events

DAY = pd.Timedelta(days=1)
# The clickstream features look back this many days from the cutoff (and at the last event
# before it): scoring at one cutoff needs no older event than that (the platform's
# scoring read, RECENT_EVENTS_SQL in ecom_platform/lib/ml_io.py, relies on it).
EVENT_LOOKBACK_DAYS = 90

# Behavioural feature names (always present).
BEHAVIOUR_FEATURES = [
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "orders_per_30d",
    "spend_per_30d",
    "ipi_mean",
    "ipi_std",
    "ipi_last",
    "recency_over_ipi",
    "orders_30d",
    "orders_90d",
    "orders_180d",
    "spend_90d",
    "spend_prev_90d",
    "spend_trend",
    "orders_trend",
    "orders_365d",
    "active_months_365d",
    "orders_next90d_last_year",
    "cancellation_share",
    "n_products",
    "n_categories",
    "avg_lines_per_order",
    "avg_units_per_order",
    "avg_unit_price",
]
EVENT_FEATURES = [
    "ev_events_30d",
    "ev_views_30d",
    "ev_carts_30d",
    "ev_removes_30d",
    "ev_purchases_30d",
    "ev_sessions_30d",
    "ev_events_90d",
    "ev_days_since_last",
    "ev_cart_rate_90d",
]
PROFILE_FEATURES = ["age", "income", "household_size", "days_since_signup"]
CATEGORICAL_FEATURES = ["country", "channel"]


def before_cutoff(df: pd.DataFrame, column: str, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The leakage guard: keep only rows with ``column < cutoff`` (NaT rows dropped).

    When ``column`` is sorted without gaps (the ML assets read lines and events in time
    order) the result is the leading slice, which shares the input's memory: the churn
    model cuts its 10M lines and 30M events at eleven dates.
    """
    if len(df) == 0:
        return df
    s = df[column]
    if not s.hasnans and s.is_monotonic_increasing:
        return df.iloc[: int(s.searchsorted(cutoff, side="left"))]
    return df.loc[s < cutoff]


def take_rows(df: pd.DataFrame, mask, columns: list[str]) -> pd.DataFrame:
    """``df.loc[mask, columns]``, built one column at a time, each column of ``df`` dropped
    as soon as it is copied: ``df`` is consumed (left empty), and a frame nobody else holds
    is never in memory twice (at scale 10 the order lines are ~1 GB)."""
    mask = np.asarray(mask, dtype=bool)
    index = df.index[mask]
    out = {}
    for c in columns:
        out[c] = pd.Series(df[c].array[mask], index=index, name=c)
        del df[c]
    for c in list(df.columns):
        del df[c]
    return pd.DataFrame(out, copy=False)


TEXT_KEY_COLUMNS = ("invoice", "stock_code", "category", "country")


def text_as_categories(lines: pd.DataFrame, columns=TEXT_KEY_COLUMNS) -> pd.DataFrame:
    """``lines`` with its text key columns as categoricals (sorted categories, so sorting
    and grouping give the same order and groups as the text): :func:`customer_features`
    copies and groups the lines several times, and codes take 1-4 bytes per line where the
    text takes 13-20 (10M lines at scale 10) and are grouped without hashing text."""
    cols = {
        c: lines[c].astype("category")
        for c in columns
        if c in lines.columns and not isinstance(lines[c].dtype, pd.CategoricalDtype)
    }
    return lines.assign(**cols) if cols else lines


def known_customers(df: pd.DataFrame, column: str = "customer_id") -> pd.DataFrame:
    """Rows with a customer id (the frame itself when every row has one)."""
    ids = df[column]
    return df.loc[ids.notna()] if ids.hasnans else df


def _days(td: pd.Series) -> pd.Series:
    return td / DAY


def customer_features(
    lines: pd.DataFrame,
    cutoff,
    customers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    active_window_days: int | None = None,
) -> pd.DataFrame:
    """One row per customer with a non-cancelled purchase before ``cutoff``.

    Only rows strictly before ``cutoff`` are read. ``active_window_days`` keeps only
    customers whose last purchase is within that many days before the cutoff.
    Returns a frame indexed by ``customer_id`` (sorted) with
    :data:`BEHAVIOUR_FEATURES`, ``country``, and, when the inputs are non-empty,
    :data:`EVENT_FEATURES`, :data:`PROFILE_FEATURES` and ``channel``.
    """
    T = pd.Timestamp(cutoff)
    # ---- leakage guard: cut every input at T before anything else
    ln = before_cutoff(lines, "invoice_date", T)
    # only the columns each step uses are copied out of ``ln`` (10M lines at scale 10)
    known = ln["customer_id"].notna()
    orders = _orders(ln.loc[known, _ORDER_COLUMNS] if ln["customer_id"].hasnans else ln)
    buy = orders.loc[~orders["is_cancellation"]]
    if len(buy) == 0:
        return _empty_features(customers, events)

    g = buy.groupby("customer_id", sort=True)
    first = g["invoice_date"].min()
    last = g["invoice_date"].max()
    f = pd.DataFrame(index=first.index)
    f.index.name = "customer_id"
    f["recency_days"] = _days(T - last)
    f["frequency"] = g.size().astype(float)
    f["monetary"] = ln.groupby("customer_id")["net_amount"].sum().reindex(f.index).fillna(0.0)
    f["avg_order_value"] = g["amount"].sum() / f["frequency"]
    f["tenure_days"] = _days(T - first)
    # rates are comparable across cutoffs with different amounts of history
    tenure = f["tenure_days"].clip(lower=30.0)
    f["orders_per_30d"] = f["frequency"] / tenure * 30.0
    f["spend_per_30d"] = f["monetary"] / tenure * 30.0

    # inter-purchase intervals over distinct purchase days
    days = buy[["customer_id"]].copy()
    days["day"] = buy["invoice_date"].dt.normalize()
    days = days.drop_duplicates().sort_values(["customer_id", "day"])
    days["gap"] = _days(days.groupby("customer_id")["day"].diff())
    gg = days.dropna(subset=["gap"]).groupby("customer_id")["gap"]
    f["ipi_mean"] = gg.mean().reindex(f.index)
    f["ipi_std"] = gg.std(ddof=0).reindex(f.index)
    f["ipi_last"] = gg.last().reindex(f.index)
    f["recency_over_ipi"] = f["recency_days"] / f["ipi_mean"].where(f["ipi_mean"] > 0)

    age = _days(T - buy["invoice_date"])
    for w in (30, 90, 180):
        f[f"orders_{w}d"] = _n_orders(buy.loc[age <= w]).reindex(f.index).fillna(0.0)
    spend90 = buy.loc[age <= 90].groupby("customer_id")["amount"].sum()
    spend_prev = buy.loc[(age > 90) & (age <= 180)].groupby("customer_id")["amount"].sum()
    f["spend_90d"] = spend90.reindex(f.index).fillna(0.0)
    f["spend_prev_90d"] = spend_prev.reindex(f.index).fillna(0.0)
    den = f["spend_90d"].abs() + f["spend_prev_90d"].abs()
    f["spend_trend"] = ((f["spend_90d"] - f["spend_prev_90d"]) / den.where(den > 0)).fillna(0.0)
    prev_orders = _n_orders(buy.loc[(age > 90) & (age <= 180)]).reindex(f.index).fillna(0.0)
    f["orders_trend"] = f["orders_90d"] - prev_orders
    last_year = buy.loc[age <= 365]
    f["orders_365d"] = _n_orders(last_year).reindex(f.index).fillna(0.0)
    months = last_year["invoice_date"].dt.to_period("M")
    f["active_months_365d"] = (
        months.groupby(last_year["customer_id"]).nunique().reindex(f.index).fillna(0.0).astype(float)
    )
    # seasonality: did they buy in the coming 90-day window one year earlier?
    ly = buy.loc[(age > 365 - 90) & (age <= 365)]
    f["orders_next90d_last_year"] = _n_orders(ly).reindex(f.index).fillna(0.0)

    n_all = _n_orders(orders)
    n_cancel = _n_orders(orders.loc[orders["is_cancellation"]])
    f["cancellation_share"] = (n_cancel.reindex(f.index).fillna(0) / n_all.reindex(f.index)).fillna(0.0)

    merch = ln.loc[
        known & ~ln["is_cancellation"] & ln["is_merchandise"],
        ["customer_id", "stock_code", "category", "quantity", "net_amount"],
    ]
    mg = merch.groupby("customer_id")
    f["n_products"] = mg["stock_code"].nunique().reindex(f.index).fillna(0.0)
    f["n_categories"] = mg["category"].nunique().reindex(f.index).fillna(0.0)
    f["avg_lines_per_order"] = g["n_lines"].sum() / f["frequency"]
    f["avg_units_per_order"] = g["units"].sum() / f["frequency"]
    units = mg["quantity"].sum().reindex(f.index)
    value = mg["net_amount"].sum().reindex(f.index)
    f["avg_unit_price"] = value / units.where(units > 0)

    # country: the customer's most frequent country on lines before T
    with_country = known & ln["country"].notna() if "country" in ln.columns else None
    if with_country is not None and with_country.any():
        cc = ln.loc[with_country, ["customer_id", "country"]].groupby(["customer_id", "country"], observed=True).size()
        cc = cc.reset_index(name="n").sort_values(["customer_id", "n", "country"], ascending=[True, False, True])
        f["country"] = (
            cc.drop_duplicates("customer_id").set_index("customer_id")["country"].reindex(f.index).astype("string")
        )
    else:
        f["country"] = pd.Series(pd.NA, index=f.index, dtype="string")

    if active_window_days is not None:
        f = f.loc[f["recency_days"] <= active_window_days]

    ev = prepare_events(events)
    if len(ev):
        f = f.join(_event_features(ev, T), how="left")
        for c in EVENT_FEATURES:
            if c != "ev_days_since_last" and c != "ev_cart_rate_90d":
                f[c] = f[c].fillna(0.0)

    prof = prepare_customers(customers)
    if len(prof):
        f = f.join(_profile_features(prof, T), how="left")
        if f["country"].isna().all() and "profile_country" in f.columns:
            f["country"] = f["profile_country"]
        f = f.drop(columns=["profile_country"], errors="ignore")
    return f


def _n_orders(orders: pd.DataFrame) -> pd.Series:
    """Distinct invoices per customer of a frame of :func:`_orders` rows (or a subset): one
    row per (customer, invoice), so the row count, without nunique's hashing of invoices."""
    return orders.groupby("customer_id").size()


# what _orders reads (the line count is taken on invoice_date: a numpy column counts as int64
# whatever the dtype of the text columns)
_ORDER_COLUMNS = ["customer_id", "invoice", "invoice_date", "is_cancellation", "net_amount", "quantity"]


def _orders(ln: pd.DataFrame) -> pd.DataFrame:
    """Invoice-level aggregates of (already cut) lines with a customer id."""
    if len(ln) == 0:
        return pd.DataFrame(
            columns=["invoice", "customer_id", "invoice_date", "is_cancellation", "amount", "n_lines", "units"]
        )
    o = ln.groupby(["customer_id", "invoice"], sort=False, observed=True).agg(
        invoice_date=("invoice_date", "min"),
        is_cancellation=("is_cancellation", "max"),
        amount=("net_amount", "sum"),
        n_lines=("invoice_date", "size"),
        units=("quantity", "sum"),
    )
    return o.reset_index()


def _event_features(ev: pd.DataFrame, T: pd.Timestamp) -> pd.DataFrame:
    ev = before_cutoff(ev, "event_time", T)
    ev = known_customers(ev, "user_id")
    out = pd.DataFrame(columns=EVENT_FEATURES, dtype=float)
    if len(ev) == 0:
        return out
    # age <= w days  <=>  event_time >= T - w days (no per-event age column: 30M events)
    e90 = ev.loc[ev["event_time"] >= T - EVENT_LOOKBACK_DAYS * DAY]
    e30 = e90.loc[e90["event_time"] >= T - 30 * DAY]
    g30 = e30.groupby("user_id")
    res = pd.DataFrame(index=pd.Index(sorted(ev["user_id"].unique()), name="customer_id"))
    res["ev_events_30d"] = g30.size()
    for kind, col in (
        ("view", "ev_views_30d"),
        ("cart", "ev_carts_30d"),
        ("remove_from_cart", "ev_removes_30d"),
        ("purchase", "ev_purchases_30d"),
    ):
        res[col] = e30.loc[e30["event_type"] == kind].groupby("user_id").size()
    res["ev_sessions_30d"] = g30["user_session"].nunique()
    res["ev_events_90d"] = e90.groupby("user_id").size()
    res["ev_days_since_last"] = _days(T - ev.groupby("user_id")["event_time"].max())
    views90 = e90.loc[e90["event_type"] == "view"].groupby("user_id").size()
    carts90 = e90.loc[e90["event_type"] == "cart"].groupby("user_id").size()
    res["ev_cart_rate_90d"] = carts90.reindex(res.index).fillna(0) / views90.reindex(res.index)
    res.index = res.index.astype("Int64")
    return res.astype(float)


def _profile_features(prof: pd.DataFrame, T: pd.Timestamp) -> pd.DataFrame:
    p = prof.set_index("customer_id")
    out = pd.DataFrame(index=p.index)
    out["age"] = (T.year - p["birth_year"].astype("Float64")).astype(float)
    out.loc[(out["age"] < 10) | (out["age"] > 110), "age"] = np.nan
    out["income"] = p["income"].astype(float)
    out["household_size"] = p["household_size"].astype("Float64").astype(float)
    signup = p["signup_date"]
    # a sign-up at/after T is not known at T
    out["days_since_signup"] = _days(T - signup.where(signup < T)).astype(float)
    out["channel"] = p["channel"].astype("string")
    out["profile_country"] = p["country"].astype("string")
    return out


def _empty_features(customers, events) -> pd.DataFrame:
    cols = list(BEHAVIOUR_FEATURES) + ["country"]
    if events is not None and len(events):
        cols += EVENT_FEATURES
    if customers is not None and len(customers):
        cols += PROFILE_FEATURES + ["channel"]
    f = pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    f.index = pd.Index([], dtype="Int64", name="customer_id")
    for c in CATEGORICAL_FEATURES:
        if c in f.columns:
            f[c] = f[c].astype("string")
    return f


def churn_labels(lines: pd.DataFrame, cutoff, horizon_days: int = 90) -> pd.Series:
    """1.0 if the customer has NO non-cancelled purchase in ``[cutoff, cutoff + horizon)``.

    Indexed by the customers who did buy in the window (value 0.0); reindex your
    population with ``fill_value=1.0``. Use :func:`label_population` for that.
    """
    T = pd.Timestamp(cutoff)
    end = T + pd.Timedelta(days=horizon_days)
    w = lines.loc[
        (lines["invoice_date"] >= T)
        & (lines["invoice_date"] < end)
        & ~lines["is_cancellation"]
        & lines["customer_id"].notna()
    ]
    buyers = pd.Index(w["customer_id"].unique()).astype("Int64")
    return pd.Series(0.0, index=buyers, name="churned")


def label_population(features: pd.DataFrame, lines: pd.DataFrame, cutoff, horizon_days: int = 90) -> pd.Series:
    """Churn label (1 = churned) for every customer in ``features``' index."""
    active = churn_labels(lines, cutoff, horizon_days)
    y = pd.Series(1.0, index=features.index, name="churned")
    y.loc[y.index.isin(active.index)] = 0.0
    return y


# --------------------------------------------------------------------------- encoding


@dataclass
class FeatureEncoder:
    """Numeric matrix from a feature frame, fitted on training data.

    Categorical columns are one-hot encoded over their ``max_levels`` most frequent
    training levels plus ``other``; with ``impute=True`` numeric NaNs get the training
    median (needed by logistic regression; LightGBM handles NaN itself) and
    ``log_features`` get a signed log1p.
    """

    max_levels: int = 8
    impute: bool = False
    log_features: tuple[str, ...] = ()
    numeric_: list[str] = field(default_factory=list)
    levels_: dict[str, list[str]] = field(default_factory=dict)
    medians_: dict[str, float] = field(default_factory=dict)
    columns_: list[str] = field(default_factory=list)

    def fit(self, X: pd.DataFrame) -> FeatureEncoder:
        self.numeric_ = [c for c in X.columns if c not in CATEGORICAL_FEATURES]
        self.levels_ = {}
        for c in CATEGORICAL_FEATURES:
            if c in X.columns and X[c].notna().any():
                vals = X[c].dropna().astype(str)
                vc = pd.DataFrame({"level": vals}).groupby("level").size()
                vc = vc.reset_index(name="n").sort_values(["n", "level"], ascending=[False, True])
                # deterministic: by count desc then name
                self.levels_[c] = [str(v) for v in vc["level"].head(self.max_levels)]
        num = self._numeric(X)
        self.medians_ = {c: float(np.nanmedian(num[c])) if num[c].notna().any() else 0.0 for c in self.numeric_}
        self.columns_ = list(self.numeric_) + [f"{c}={lvl}" for c, lv in self.levels_.items() for lvl in [*lv, "other"]]
        return self

    def _numeric(self, X: pd.DataFrame) -> pd.DataFrame:
        num = pd.DataFrame(index=X.index)
        for c in self.numeric_:
            v = X[c].astype(float) if c in X.columns else pd.Series(np.nan, index=X.index)
            if c in self.log_features:
                v = np.sign(v) * np.log1p(np.abs(v))
            num[c] = v
        return num

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        num = self._numeric(X)
        if self.impute:
            num = num.fillna(self.medians_)
        parts = [num]
        for c, lv in self.levels_.items():
            vals = X[c].astype("string") if c in X.columns else pd.Series(pd.NA, index=X.index)
            vals = vals.fillna("__missing__").astype(str)
            oh = pd.DataFrame(index=X.index)
            for lvl in lv:
                oh[f"{c}={lvl}"] = (vals == lvl).astype(float)
            oh[f"{c}=other"] = (~vals.isin(lv)).astype(float)
            parts.append(oh)
        out = pd.concat(parts, axis=1)
        return out[self.columns_].astype(float)

    def fit_transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.fit(X).transform(X)
