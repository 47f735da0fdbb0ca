"""Product recommendations from co-purchases (item-to-item), with a popularity fallback.

Item universe: the ``max_items`` items bought in the most baskets (default 3,000; a
dense item x item matrix of that size is 72 MB and inverts in a second or two on 2
cores); the notes say how much of the demand it covers. Items outside it are never
recommended.

Candidates (the champion is chosen on the offline evaluation below, ``method="auto"``;
``method`` may force one):

- ``ease``: EASE (Steck, 2019), ``B = I - P / diag(P)``,
  ``P = (X'X + lambda I)^-1`` on the binary customer x item matrix ``X``;
- ``cosine``: item-item cosine similarity of the columns of ``X``;
- ``popularity_recent``: the most popular items of the last ``popularity_days`` not yet
  bought by the customer (the same list for everyone).

The champion (best NDCG@k) is published provided it beats the naive baseline, all-time
popularity; the other candidates are recorded beside it in ``ml.model_metrics``.

A customer's scores are ``x_u B``; already bought items are excluded
(``exclude_purchased``); each recommendation carries the reason "bought with <item>",
the bought item contributing most to its score. Slots the model cannot fill with a
positive score, and customers with no history (or profiles without purchases), get
the most popular items of the last ``popularity_days`` (reason "popular").

Offline evaluation: each customer's last basket (invoice) with >= 2 baskets is held
out; the model is fitted on everything else and must find the held-out items (those not
bought before, when ``exclude_purchased``). HitRate/Precision/Recall/NDCG@k and catalogue
coverage against all-time and recent popularity.

``frequently_bought_together``: per item, the items most often in the same basket
(anonymous baskets included): co_baskets, support, confidence, lift and cosine score.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml_assets.common import DataCheck, ModelRun, Requirement, artifact_hash, min_data
from ml_assets.data import prepare_lines
from ml_assets.evaluation import ranking_metrics
from ml_assets.features import text_as_categories

CANDIDATES = ("ease", "cosine", "popularity_recent")
NAIVE_BASELINE = "popularity"
REC_COLUMNS = ["customer_id", "rank", "stock_code", "score", "reason", "source"]
FBT_COLUMNS = ["stock_code", "rank", "other_stock_code", "co_baskets", "support", "confidence", "lift", "score"]


@dataclass
class RecConfig:
    k: int = 10
    max_items: int = 3000
    method: str = "auto"  # auto: the best of CANDIDATES on the evaluation; or one of them
    ease_lambda: float = 200.0
    exclude_purchased: bool = True
    popularity_days: int = 90
    max_eval_users: int = 5000
    min_customers: int = 100  # customers with >= 2 baskets
    min_items: int = 20
    fbt_top: int = 10
    fbt_min_baskets: int = 3
    chunk_users: int = 2000
    random_state: int = 42


@dataclass
class RecResult:
    """``recommendations`` -> ml.product_recommendations; ``fbt`` ->
    ml.frequently_bought_together; ``run`` -> ml.model_metrics."""

    recommendations: pd.DataFrame
    fbt: pd.DataFrame
    evaluation: pd.DataFrame
    run: ModelRun
    check: DataCheck
    timings: dict[str, float] = field(default_factory=dict)
    model: RecModel | None = None


@dataclass
class RecModel:
    """What :func:`recommend_customers` needs: the item universe, the item-item weights,
    the popularity order (item indices) and the products' descriptions (for the reasons)."""

    items: list[str]
    B: np.ndarray
    popularity: np.ndarray
    descriptions: dict[str, str]
    config: RecConfig


# --------------------------------------------------------------------------- data


def purchases(lines: pd.DataFrame) -> pd.DataFrame:
    """Non-cancelled merchandise lines with quantity > 0 (customer may be NA)."""
    m = ~lines["is_cancellation"] & lines["is_merchandise"] & (lines["quantity"] > 0)
    return lines.loc[m, ["invoice", "stock_code", "customer_id", "invoice_date", "description"]]


def item_universe(buys: pd.DataFrame, max_items: int) -> tuple[list[str], dict[str, float]]:
    """Top ``max_items`` items by number of baskets (ties by code) and coverage stats."""
    pairs = buys[["invoice", "stock_code"]].drop_duplicates()
    cnt = pairs.groupby("stock_code").size().reset_index(name="n")
    cnt = cnt.sort_values(["n", "stock_code"], ascending=[False, True])
    items = [str(s) for s in cnt["stock_code"].head(max_items)]
    covered = cnt["n"].head(max_items).sum() / max(1, cnt["n"].sum())
    return items, {
        "n_items_total": float(len(cnt)),
        "n_items_used": float(len(items)),
        "basket_item_coverage": float(covered),
    }


def _matrix(df: pd.DataFrame, row_col: str, rows: pd.Index, item_index: pd.Index) -> sp.csr_matrix:
    r = rows.get_indexer(df[row_col])
    c = item_index.get_indexer(df["stock_code"].astype(str))
    ok = (r >= 0) & (c >= 0)
    m = sp.csr_matrix((np.ones(ok.sum(), dtype=np.float32), (r[ok], c[ok])), shape=(len(rows), len(item_index)))
    m.data[:] = 1.0  # binary (duplicates summed by the constructor)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


# --------------------------------------------------------------------------- models


def fit_ease(X: sp.csr_matrix, lam: float) -> np.ndarray:
    """EASE item-item weights (items x items), zero diagonal."""
    G = (X.T @ X).toarray().astype(np.float64)
    G[np.diag_indices_from(G)] += lam
    P = np.linalg.inv(G)
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    return B.astype(np.float32)


def fit_cosine(X: sp.csr_matrix) -> np.ndarray:
    G = (X.T @ X).toarray().astype(np.float64)
    d = np.sqrt(np.diag(G))
    d[d == 0] = 1.0
    S = G / d[:, None] / d[None, :]
    np.fill_diagonal(S, 0.0)
    return S.astype(np.float32)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest per row, best first (ties by item index)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    return np.take_along_axis(part, order, axis=1)


def recommend(
    X: sp.csr_matrix, B: np.ndarray, pop_order: np.ndarray, k: int, exclude_purchased: bool = True, chunk: int = 2000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-k per row of ``X``: (items, scores, reason_item) arrays of shape (n, k).

    reason_item = the bought item with the largest weight towards the recommendation,
    -1 when the slot was filled from popularity (score NaN).
    """
    n, n_items = X.shape
    k = min(k, n_items)
    items = np.full((n, k), -1, dtype=np.int64)
    scores = np.full((n, k), np.nan)
    reasons = np.full((n, k), -1, dtype=np.int64)
    for s in range(0, n, chunk):
        Xc = X[s : s + chunk]
        S = np.asarray((Xc @ B), dtype=np.float32)
        if exclude_purchased:
            r, c = Xc.nonzero()
            S[r, c] = -np.inf
        top = _top_k(S, k)
        top_s = np.take_along_axis(S, top, axis=1)
        for u in range(top.shape[0]):
            ui = s + u
            bought = Xc.indices[Xc.indptr[u] : Xc.indptr[u + 1]]
            good = top_s[u] > 0
            chosen = list(top[u][good])
            sc = list(top_s[u][good].astype(float))
            if len(bought) and chosen:
                w = B[np.ix_(bought, np.asarray(chosen))]
                rs = list(bought[np.argmax(w, axis=0)])
            else:
                rs = []
            if len(chosen) < k:
                taken = set(chosen)
                if exclude_purchased:
                    taken.update(bought.tolist())
                for it in pop_order:
                    if len(chosen) >= k:
                        break
                    if it not in taken:
                        chosen.append(it)
                        sc.append(np.nan)
                        rs.append(-1)
                        taken.add(it)
            m = len(chosen)
            items[ui, :m] = chosen
            scores[ui, :m] = sc
            reasons[ui, :m] = rs
    return items, scores, reasons


def popularity_recs(X: sp.csr_matrix, pop_order: np.ndarray, k: int, exclude_purchased: bool = True) -> list[list[int]]:
    out = []
    for u in range(X.shape[0]):
        bought = set(X.indices[X.indptr[u] : X.indptr[u + 1]].tolist()) if exclude_purchased else set()
        recs = []
        for it in pop_order:
            if it not in bought:
                recs.append(int(it))
                if len(recs) == k:
                    break
        out.append(recs)
    return out


def _popularity(buys: pd.DataFrame, item_index: pd.Index, days: int | None) -> np.ndarray:
    """Item indices by distinct buyers (customers, else baskets), most popular first."""
    b = buys
    if days is not None and len(b):
        b = b.loc[
            b["invoice_date"] > b["invoice_date"].max() - pd.Timedelta(days=days),
            ["customer_id", "invoice", "stock_code"],
        ]
    # distinct buyers per item = distinct customers + distinct guest baskets (a customer id
    # and a basket are never the same buyer), counted without a text key per line
    known = b["customer_id"].notna()
    code = b["stock_code"].astype(str)
    n_customers = b["customer_id"].loc[known].groupby(code.loc[known]).nunique()
    n_guests = b["invoice"].loc[~known].groupby(code.loc[~known]).nunique(dropna=False)
    cnt = n_customers.add(n_guests, fill_value=0)
    cnt = cnt.reindex(item_index, fill_value=0).astype("int64").reset_index(name="n")
    cnt.columns = ["stock_code", "n"]
    cnt["idx"] = np.arange(len(cnt))
    cnt = cnt.sort_values(["n", "stock_code"], ascending=[False, True])
    return cnt["idx"].to_numpy()


# --------------------------------------------------------------------------- FBT


def frequently_bought_together(
    buys: pd.DataFrame, items: list[str], top: int = 10, min_baskets: int = 3
) -> pd.DataFrame:
    """Co-purchase pairs within baskets (invoices), top ``top`` per item by cosine.

    co_baskets = baskets with both; support = co / baskets; confidence = co / baskets
    with the item; lift = co * baskets / (n_item * n_other); score = co / sqrt(n_item *
    n_other). Pairs seen in fewer than ``min_baskets`` baskets are dropped.
    """
    item_index = pd.Index(items)
    inv = buys["invoice"].astype(str)
    baskets = pd.Index(inv.unique())
    Xb = _matrix(buys.assign(invoice=inv), "invoice", baskets, item_index)
    N = Xb.shape[0]
    C = (Xb.T.tocsr() @ Xb).toarray().astype(np.float64)
    cnt = np.diag(C).copy()
    np.fill_diagonal(C, 0.0)
    den = np.sqrt(np.outer(cnt, cnt))
    with np.errstate(divide="ignore", invalid="ignore"):
        S = np.where((C >= min_baskets) & (den > 0), C / den, 0.0)
    k = min(top, max(1, S.shape[1] - 1))
    idx = _top_k(S, k)
    vals = np.take_along_axis(S, idx, axis=1)
    ii = np.repeat(np.arange(S.shape[0]), k)
    jj = idx.ravel()
    ok = vals.ravel() > 0
    ii, jj = ii[ok], jj[ok]
    if len(ii) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FBT_COLUMNS})
    rank = np.tile(np.arange(1, k + 1), S.shape[0])[ok]
    co = C[ii, jj]
    out = pd.DataFrame(
        {
            "stock_code": pd.array(item_index[ii], dtype="string"),
            "rank": rank.astype("int64"),
            "other_stock_code": pd.array(item_index[jj], dtype="string"),
            "co_baskets": co.astype("int64"),
            "support": co / N,
            "confidence": co / cnt[ii],
            "lift": co * N / (cnt[ii] * cnt[jj]),
            "score": S[ii, jj],
        }
    )
    return out[FBT_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- evaluation


def holdout_last_basket(buys: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): each known customer's last invoice (with >= 2 invoices) is test."""
    known = buys.loc[buys["customer_id"].notna(), ["customer_id", "invoice", "invoice_date"]]
    inv = known.groupby(["customer_id", "invoice"], sort=False)["invoice_date"].min().reset_index()
    del known
    inv = inv.sort_values(["customer_id", "invoice_date", "invoice"])
    n_inv = inv.groupby("customer_id")["invoice"].transform("size")
    last = inv.loc[n_inv >= 2].drop_duplicates("customer_id", keep="last")
    # a line is held out when its invoice is its customer's last one (one per customer)
    last_invoice = pd.Series(last["invoice"].array, index=pd.Index(last["customer_id"].array))
    is_test = (buys["customer_id"].map(last_invoice) == buys["invoice"]).fillna(False)
    is_test = is_test.to_numpy(dtype=bool)
    return buys.loc[~is_test], buys.loc[is_test]


def _fit(X: sp.csr_matrix, cfg: RecConfig) -> np.ndarray:
    if cfg.method == "ease":
        return fit_ease(X, cfg.ease_lambda)
    if cfg.method == "cosine":
        return fit_cosine(X)
    if cfg.method == "popularity_recent":  # no item-item weights: every slot from popularity
        return np.zeros((X.shape[1], X.shape[1]), dtype=np.float32)
    raise ValueError(f"unknown method {cfg.method!r} (one of {', '.join(CANDIDATES)})")


def choose_champion(results: dict[str, dict], cfg: RecConfig) -> str:
    """The candidate with the best NDCG@k (ties to the earlier, in CANDIDATES order), or
    the forced ``cfg.method``."""
    if cfg.method != "auto":
        return cfg.method
    metric = f"ndcg@{cfg.k}"
    best = None
    for name in CANDIDATES:
        v = results.get(name, {}).get(metric)
        if v is not None and v == v and (best is None or v > best[0]):
            best = (v, name)
    return best[1] if best else "ease"


def evaluate(buys: pd.DataFrame, items: list[str], cfg: RecConfig) -> tuple[dict, pd.DataFrame]:
    """Leave-last-basket-out metrics for the model and the popularity baselines."""
    item_index = pd.Index(items)
    train, test = holdout_last_basket(buys)
    tr_known = train.loc[train["customer_id"].notna()]
    users = pd.Index(sorted(tr_known["customer_id"].astype("int64").unique()))
    X = _matrix(tr_known.assign(customer_id=tr_known["customer_id"].astype("int64")), "customer_id", users, item_index)
    del tr_known
    t = test.assign(customer_id=test["customer_id"].astype("int64"))
    t = t.loc[t["customer_id"].isin(users)]
    t_rows = users.get_indexer(t["customer_id"])
    t_cols = item_index.get_indexer(t["stock_code"].astype(str))
    ok = t_cols >= 0
    rel: dict[int, set[int]] = {}
    for r, c in zip(t_rows[ok], t_cols[ok]):
        rel.setdefault(int(r), set()).add(int(c))
    if cfg.exclude_purchased:
        for r in list(rel):
            bought = set(X.indices[X.indptr[r] : X.indptr[r + 1]].tolist())
            rel[r] -= bought
            if not rel[r]:
                del rel[r]
    eval_rows = np.array(sorted(rel), dtype=np.int64)
    if len(eval_rows) > cfg.max_eval_users:
        rng = np.random.default_rng(cfg.random_state)
        eval_rows = np.sort(rng.choice(eval_rows, cfg.max_eval_users, replace=False))
    if len(eval_rows) == 0:
        return {}, pd.DataFrame()
    relevant = [rel[int(r)] for r in eval_rows]
    Xe = X[eval_rows]
    pop_all = _popularity(train, item_index, None)
    pop_recent = _popularity(train, item_index, cfg.popularity_days)
    results = {}
    for method in ("ease", "cosine"):
        c2 = RecConfig(**{**asdict(cfg), "method": method})
        B = _fit(X, c2)
        rec_items, _, _ = recommend(Xe, B, pop_recent, cfg.k, cfg.exclude_purchased, cfg.chunk_users)
        results[method] = ranking_metrics([list(r[r >= 0]) for r in rec_items], relevant, cfg.k, len(items))
    results["popularity"] = ranking_metrics(
        popularity_recs(Xe, pop_all, cfg.k, cfg.exclude_purchased), relevant, cfg.k, len(items)
    )
    results["popularity_recent"] = ranking_metrics(
        popularity_recs(Xe, pop_recent, cfg.k, cfg.exclude_purchased), relevant, cfg.k, len(items)
    )
    ev = pd.DataFrame([{"model": m, **v} for m, v in results.items()])
    ev["n_eval_users"] = len(eval_rows)
    return results, ev


# --------------------------------------------------------------------------- entry point


def check_rec_data(buys: pd.DataFrame, cfg: RecConfig) -> DataCheck:
    known = buys.loc[buys["customer_id"].notna(), ["customer_id", "invoice"]]
    n_inv = known.groupby("customer_id")["invoice"].nunique()
    return min_data(
        "product recommendations",
        [
            Requirement("repeat_customers", "customers with >= 2 baskets", cfg.min_customers, int((n_inv >= 2).sum())),
            Requirement("items", "distinct products bought", cfg.min_items, int(buys["stock_code"].nunique())),
        ],
    )


def run_recommendations(
    lines: pd.DataFrame, customers: pd.DataFrame | None = None, config: RecConfig | None = None
) -> RecResult:
    """Evaluate, fit on all data, recommend top-k per customer, and build FBT pairs.

    Customers in ``customers`` without purchases get popularity recommendations.
    """
    cfg = config or RecConfig()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    # the description (text, one of a few thousand per line) as a categorical: it is only
    # counted per product, for the reasons
    lines = text_as_categories(prepare_lines(lines), ("description",))
    buys = purchases(lines)
    del lines  # the purchases are all that is used (the caller's frame can be freed)
    check = check_rec_data(buys, cfg)
    run = ModelRun(
        model=f"recs_{cfg.method}",
        task="recommendations",
        params={**asdict(cfg), "candidates": list(CANDIDATES), "naive_baseline": NAIVE_BASELINE},
        primary_metric=f"ndcg@{cfg.k}",
        required_baselines=[NAIVE_BASELINE],
        data_check=check,
    )
    if len(buys):
        run.data_start, run.data_end = buys["invoice_date"].min(), buys["invoice_date"].max()
    if len(buys) == 0 or buys["stock_code"].nunique() < 2:
        run.decide()
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in REC_COLUMNS})
        return RecResult(
            empty, pd.DataFrame({c: pd.Series(dtype=object) for c in FBT_COLUMNS}), pd.DataFrame(), run, check, timings
        )

    items, cov = item_universe(buys, cfg.max_items)
    buys = buys.assign(stock_code=buys["stock_code"].astype(str))
    # the descriptions (for the reasons) now, then the text column is dropped: every step
    # below copies the purchases (9.5M lines at scale 10) at least once
    desc = _descriptions(buys)
    buys = buys.drop(columns="description")
    run.notes.append(
        f"item universe capped to the top {int(cov['n_items_used']):,} of "
        f"{int(cov['n_items_total']):,} items by baskets ({cov['basket_item_coverage']:.1%} of "
        f"basket-item pairs); items outside it are never recommended"
    )

    t1 = time.perf_counter()
    results, evaluation = evaluate(buys, items, cfg)
    timings["evaluate"] = time.perf_counter() - t1
    champion = choose_champion(results, cfg)
    if results:
        k = cfg.k
        run.metrics = dict(results[champion])
        pop = results[NAIVE_BASELINE][f"ndcg@{k}"]
        run.metrics["ndcg_lift_vs_popularity"] = (run.metrics[f"ndcg@{k}"] / pop) if pop > 0 else float("nan")
        # the naive baseline, then the other candidates (recorded, not required to be beaten)
        run.baselines = {
            NAIVE_BASELINE: results[NAIVE_BASELINE],
            **{c: results[c] for c in CANDIDATES if c != champion and c in results},
        }
        run.n_eval = int(evaluation["n_eval_users"].iloc[0])
        scores = ", ".join(f"{c} {results[c][f'ndcg@{k}']:.4f}" for c in CANDIDATES if c in results)
        run.notes.append(
            f"leave-last-basket-out on {run.n_eval:,} customers; relevant = items of the last "
            f"basket{' not bought before' if cfg.exclude_purchased else ''}; champion {champion} "
            f"({'forced' if cfg.method != 'auto' else 'best'} NDCG@{k} of {scores}; "
            f"naive popularity {pop:.4f})"
        )
    else:
        run.notes.append("no customer with a held-out basket to evaluate on")
    run.model = f"recs_{champion}"
    run.params["champion"] = champion
    cfg = RecConfig(**{**asdict(cfg), "method": champion})

    # ---------------------------------------------------------------- final model
    t2 = time.perf_counter()
    item_index = pd.Index(items)
    users, X = _customer_matrix(buys, item_index)
    B = _fit(X, cfg)
    pop = _popularity(buys, item_index, cfg.popularity_days)
    model = RecModel(items, B, pop, desc, cfg)
    recs = _recommend_users(model, users, X, customers)
    timings["fit_score"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    fbt = frequently_bought_together(buys, items, cfg.fbt_top, cfg.fbt_min_baskets)
    timings["fbt"] = time.perf_counter() - t3

    run.n_train = int(X.nnz)
    run.artifact_hash = artifact_hash({"items": items, "B": B})
    run.decide()
    timings["total"] = time.perf_counter() - t0
    return RecResult(recs, fbt, evaluation, run, check, timings, model)


def _customer_matrix(buys: pd.DataFrame, item_index: pd.Index) -> tuple[pd.Index, sp.csr_matrix]:
    """(sorted known customers of ``buys``, their binary customer x item matrix)."""
    known = buys.loc[buys["customer_id"].notna(), ["customer_id", "stock_code"]]
    users = pd.Index(sorted(known["customer_id"].astype("int64").unique()))
    X = _matrix(known.assign(customer_id=known["customer_id"].astype("int64")), "customer_id", users, item_index)
    return users, X


def _recommend_users(
    model: RecModel, users: pd.Index, X: sp.csr_matrix, customers: pd.DataFrame | None
) -> pd.DataFrame:
    """Top-k rows (ml.product_recommendations) for ``users`` (rows of ``X``) and
    popularity for the profiles in ``customers`` without a purchase."""
    cfg, items, desc, pop = model.config, model.items, model.descriptions, model.popularity
    rec_items, rec_scores, rec_reasons = recommend(X, model.B, pop, cfg.k, cfg.exclude_purchased, cfg.chunk_users)
    n_u, k = rec_items.shape
    flat_items = rec_items.ravel()
    flat_reason = rec_reasons.ravel()
    valid = flat_items >= 0
    codes = np.where(valid, np.asarray(items, dtype=object)[np.clip(flat_items, 0, None)], None)
    reason_codes = np.where(flat_reason >= 0, np.asarray(items, dtype=object)[np.clip(flat_reason, 0, None)], None)
    reasons = [
        f"bought with {rc} ({desc.get(rc, '')})".replace(" ()", "") if rc is not None else "popular"
        for rc in reason_codes
    ]
    recs = pd.DataFrame(
        {
            "customer_id": np.repeat(users.to_numpy(), k),
            "rank": np.tile(np.arange(1, k + 1), n_u),
            "stock_code": codes,
            "score": rec_scores.ravel(),
            "reason": reasons,
            "source": np.where(flat_reason >= 0, "model", "popularity"),
        }
    ).loc[valid]
    # profiles without purchases: popularity
    if customers is not None and len(customers):
        new = pd.Index(
            pd.to_numeric(customers["customer_id"], errors="coerce").dropna().astype("int64").unique()
        ).difference(users)
        if len(new):
            top = [items[i] for i in pop[: cfg.k]]
            recs = pd.concat(
                [
                    recs,
                    pd.DataFrame(
                        {
                            "customer_id": np.repeat(new.to_numpy(), len(top)),
                            "rank": np.tile(np.arange(1, len(top) + 1), len(new)),
                            "stock_code": np.tile(np.asarray(top, dtype=object), len(new)),
                            "score": np.nan,
                            "reason": "popular",
                            "source": "popularity",
                        }
                    ),
                ],
                ignore_index=True,
            )
    recs["customer_id"] = recs["customer_id"].astype("Int64")
    recs["rank"] = recs["rank"].astype("int64")
    for c in ("stock_code", "reason", "source"):
        recs[c] = recs[c].astype("string")
    return recs.sort_values(["customer_id", "rank"], ignore_index=True)[REC_COLUMNS]


# what recommend_customers reads of the lines
SCORE_LINE_COLUMNS = ("stock_code", "customer_id", "quantity", "is_cancellation", "is_merchandise")


def recommend_customers(model: RecModel, lines: pd.DataFrame, customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Top-k recommendations (ml.product_recommendations rows) for every customer with a
    purchase in ``lines`` (which needs only :data:`SCORE_LINE_COLUMNS`) and popularity for
    the profiles in ``customers`` without one. A customer's rows depend only on their own
    purchases: chunks of customers give the same rows as all at once."""
    missing = [c for c in SCORE_LINE_COLUMNS if c not in lines.columns]
    if missing:
        raise ValueError(f"recommend_customers needs the line columns {missing}")
    cancel = lines["is_cancellation"]
    merch = lines["is_merchandise"]
    qty = lines["quantity"]
    if cancel.dtype != bool:
        cancel = cancel.fillna(False).astype(bool)
    if merch.dtype != bool:
        merch = merch.fillna(False).astype(bool)
    if not pd.api.types.is_integer_dtype(qty):
        qty = pd.to_numeric(qty, errors="coerce").fillna(0).astype("int64")
    cid = pd.to_numeric(lines["customer_id"], errors="coerce").astype("Int64")
    m = (~cancel & merch & (qty > 0) & cid.notna()).to_numpy(dtype=bool)
    buys = pd.DataFrame({"customer_id": cid.array[m], "stock_code": lines["stock_code"].array[m]})
    users, X = _customer_matrix(buys, pd.Index(model.items))
    del buys
    return _recommend_users(model, users, X, customers)


def _descriptions(buys: pd.DataFrame) -> dict[str, str]:
    d = buys[["stock_code", "description"]].dropna(subset=["description"])
    if len(d) == 0:
        return {}
    c = d.groupby(["stock_code", "description"]).size().reset_index(name="n")
    c = c.sort_values(["stock_code", "n", "description"], ascending=[True, False, True])
    c = c.drop_duplicates("stock_code")
    return {str(a): str(b).strip() for a, b in zip(c["stock_code"], c["description"])}
