"""Customer segmentation: K-Means on behavioural (and, when present, profile) features.

Pipeline: features as of ``as_of`` (default: the day after the last invoice) ->
median imputation -> age from birth year -> outliers capped to the [5th, 95th]
percentile -> StandardScaler -> PCA (``pca_variance`` of the variance) -> K-Means for
every k in ``k_range`` (inertia and silhouette recorded) -> k with the best silhouette
(ties: the smaller k).

Stable across reruns on the same data: rows are sorted by customer_id, every random
step has a fixed ``random_state``, clusters are renumbered by a deterministic order
(centroid monetary value, then frequency) and named from their centroids by fixed rules
("High-value loyal", "Lapsed", "New", "Price-sensitive", "Big-basket", "Premium", else
"Mid-/Low-value regular"). Names are distinct and say what separates segments: segments
that would share a name each get a qualifier from the feature on which they differ most
from the others of that name, e.g. "High-value loyal (more recent)" and "High-value loyal
(less recent)" (:func:`name_clusters`).

Baseline: the rule-based RFM segments (``rfm.segment``) when given, else monetary
quantile tiers with the same k, scored by silhouette in the same space. The model must
beat it and be stable (adjusted Rand index >= ``min_stability_ari`` against a refit
with another seed) to be publishable.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from ml_assets.common import DataCheck, ModelRun, Requirement, artifact_hash, min_data
from ml_assets.data import prepare_customers, prepare_lines
from ml_assets.features import customer_features, text_as_categories

BEHAVIOUR = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "avg_unit_price", "n_products"]
PROFILE = ["age", "income", "household_size"]

ARCHETYPES = ["High-value loyal", "Lapsed", "New", "Price-sensitive", "Big-basket", "Premium"]

# Qualifiers that tell apart segments of the same name: (lower, higher) standing on a feature
# relative to the other segments of that name. The order breaks ties (recency, frequency and
# monetary value first).
QUALIFIERS = {
    "recency_days": ("more recent", "less recent"),
    "frequency": ("less frequent", "more frequent"),
    "monetary": ("lower spend", "higher spend"),
    "avg_order_value": ("smaller baskets", "bigger baskets"),
    "tenure_days": ("newer", "longer-standing"),
    "avg_unit_price": ("cheaper items", "pricier items"),
    "n_products": ("fewer products", "more products"),
    "age": ("younger", "older"),
    "income": ("lower income", "higher income"),
    "household_size": ("smaller households", "larger households"),
}
# a cluster between two others of its name that already took both ends of a feature
QUALIFIER_MIDDLE = {
    "recency_days": "mid recency",
    "frequency": "mid frequency",
    "monetary": "mid spend",
    "avg_order_value": "mid-size baskets",
    "tenure_days": "mid tenure",
    "avg_unit_price": "mid-priced items",
    "n_products": "mid product range",
    "age": "middle-aged",
    "income": "middle income",
    "household_size": "mid-size households",
}


@dataclass
class SegmentationConfig:
    k_min: int = 3
    k_max: int = 8
    cap_low: float = 0.05
    cap_high: float = 0.95
    pca_variance: float = 0.90
    random_state: int = 42
    n_init: int = 10
    silhouette_sample: int = 5000
    min_customers: int = 200
    min_profile_coverage: float = 0.5  # use a profile column if >= this share is known
    min_stability_ari: float = 0.8
    name_threshold: float = 0.5  # archetype score (in SDs) needed to take its name
    new_max_tenure_days: float = 180.0  # "New" needs a median tenure at most this
    lapsed_min_recency_days: float = 90.0  # "Lapsed" needs a median recency at least this
    as_of: object | None = None


@dataclass
class SegmentationResult:
    """``segments`` -> ml.customer_segments; ``profiles`` -> ml.segment_profiles;
    ``k_scores``: inertia and silhouette per k; ``run`` -> ml.model_metrics."""

    segments: pd.DataFrame
    profiles: pd.DataFrame
    k_scores: pd.DataFrame
    run: ModelRun
    check: DataCheck
    features_used: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    model: SegmentationModel | None = None


@dataclass
class SegmentationModel:
    """What :func:`assign_segments` needs to put further customers in the fitted segments:
    the features and their training medians and caps, the scaler, PCA and K-Means, the
    renumbering of the K-Means clusters and the segment names, and the as-of date."""

    columns: list[str]
    medians: pd.Series
    cap_low: pd.Series
    cap_high: pd.Series
    scaler: StandardScaler
    pca: PCA
    kmeans: KMeans
    remap: dict[int, int]
    names: list[str]
    as_of: pd.Timestamp


def segmentation_features(
    lines: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    rfm: pd.DataFrame | None,
    as_of=None,
    min_profile_coverage: float = 0.5,
) -> pd.DataFrame:
    """Raw (uncapped, unimputed) feature frame indexed by customer_id, sorted."""
    return _features_as_of(lines, customers, rfm, as_of, min_profile_coverage)[0]


def _features_as_of(lines, customers, rfm, as_of, min_profile_coverage):
    """(:func:`segmentation_features`, the as-of date they were computed at)."""
    frames = []
    if lines is not None and len(lines):
        ln = prepare_lines(lines)
        T = pd.Timestamp(as_of) if as_of is not None else (ln["invoice_date"].max().normalize() + pd.Timedelta(days=1))
        ln = text_as_categories(ln)
        f = customer_features(ln, T)
        del ln
        frames.append(f[BEHAVIOUR])
    elif rfm is not None and len(rfm):
        r = rfm.copy()
        r["customer_id"] = r["customer_id"].astype("Int64")
        r = r.set_index("customer_id")
        f = r[["recency_days", "frequency", "monetary"]].astype(float)
        f["avg_order_value"] = f["monetary"] / f["frequency"].where(f["frequency"] > 0)
        frames.append(f)
        T = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.today().normalize()
    else:
        return pd.DataFrame(columns=BEHAVIOUR), (pd.Timestamp(as_of) if as_of is not None else None)
    X = frames[0]
    prof = prepare_customers(customers)
    if len(prof):
        p = prof.set_index("customer_id")
        pf = pd.DataFrame(index=p.index)
        pf["age"] = (T.year - p["birth_year"].astype("Float64")).astype(float)
        pf.loc[(pf["age"] < 10) | (pf["age"] > 110), "age"] = np.nan
        pf["income"] = p["income"].astype(float)
        pf["household_size"] = p["household_size"].astype("Float64").astype(float)
        pf = pf.reindex(X.index)
        for c in PROFILE:
            if pf[c].notna().mean() >= min_profile_coverage:
                X = X.assign(**{c: pf[c]})
    X = X.sort_index()
    return X.astype(float), T


def _prepare(X: pd.DataFrame, cfg: SegmentationConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Impute medians, cap outliers; returns (imputed raw, capped)."""
    imp, capped, _ = _prepare_with_params(X, cfg)
    return imp, capped


def _prepare_with_params(X: pd.DataFrame, cfg: SegmentationConfig):
    """:func:`_prepare` and the (medians, low caps, high caps) it used."""
    med = X.median(numeric_only=True).fillna(0.0)
    imp = X.fillna(med)
    lo = imp.quantile(cfg.cap_low)
    hi = imp.quantile(cfg.cap_high)
    capped = imp.clip(lower=lo, upper=hi, axis=1)
    return imp, capped, (med, lo, hi)


def _kmeans(Z: np.ndarray, k: int, seed: int, n_init: int) -> KMeans:
    return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(Z)


def _silhouette(Z: np.ndarray, labels: np.ndarray, cfg: SegmentationConfig) -> float:
    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
        return float("nan")
    n = min(len(labels), cfg.silhouette_sample)
    return float(silhouette_score(Z, labels, sample_size=n if n < len(labels) else None, random_state=cfg.random_state))


def name_clusters(
    z_centroids: pd.DataFrame,
    threshold: float = 0.5,
    medians: pd.DataFrame | None = None,
    new_max_tenure_days: float = 180.0,
    lapsed_min_recency_days: float = 90.0,
) -> list[str]:
    """Distinct names from centroid z-scores (rows = clusters, columns = features).

    Each archetype has a score; the best (cluster, archetype) pairs above
    ``threshold`` are assigned greedily, one archetype per cluster. A cluster left
    over takes its best archetype above ``threshold`` too (it then shares that name), or
    "Mid-value regular" / "Low-value regular" by its monetary standing.
    With ``medians`` (raw per-cluster medians), "New" also needs a median tenure of at
    most ``new_max_tenure_days`` and "Lapsed" a median recency of at least
    ``lapsed_min_recency_days``: relative z-scores alone would call the least tenured
    third of a mature customer base "New".

    Clusters sharing a name are told apart by what separates them (:func:`_qualify`):
    each gets, in brackets, its standing on the feature where it differs most from the
    others of that name, e.g. "High-value loyal (more recent)" / "High-value loyal (less
    recent)", or "(mid recency)" for a third between them. Only clusters with identical
    centroids fall back to a number ("#2").
    """
    z = z_centroids.reindex(columns=sorted(set(z_centroids.columns) | set(BEHAVIOUR))).fillna(0.0)
    scores = pd.DataFrame(index=z.index)
    scores["High-value loyal"] = (z["monetary"] + z["frequency"] - z["recency_days"]) / 2
    scores["Lapsed"] = z["recency_days"]
    scores["New"] = (-z["tenure_days"] - z["frequency"]) / 2
    scores["Price-sensitive"] = -z["avg_unit_price"]
    scores["Big-basket"] = z["avg_order_value"]
    scores["Premium"] = z["avg_unit_price"]
    if medians is not None:
        med = medians.reindex(z.index)
        if "tenure_days" in med:
            scores.loc[med["tenure_days"] > new_max_tenure_days, "New"] = -np.inf
        if "recency_days" in med:
            scores.loc[med["recency_days"] < lapsed_min_recency_days, "Lapsed"] = -np.inf
    pairs = scores.stack().rename("s").reset_index()
    pairs.columns = ["cluster", "archetype", "s"]
    pairs["arch_order"] = pairs["archetype"].map({a: i for i, a in enumerate(ARCHETYPES)})
    pairs = pairs.sort_values(["s", "cluster", "arch_order"], ascending=[False, True, True])
    names: dict[int, str] = {}
    used: set[str] = set()
    for row in pairs.itertuples(index=False):
        if row.s <= threshold:
            break
        if row.cluster in names or row.archetype in used:
            continue
        names[row.cluster] = row.archetype
        used.add(row.archetype)
    base = []
    for c in z.index:
        if c in names:
            base.append(names[c])
            continue
        best = scores.loc[c].sort_values(ascending=False, kind="mergesort")
        if np.isfinite(best.iloc[0]) and best.iloc[0] > threshold:
            base.append(str(best.index[0]))
        else:
            base.append("Mid-value regular" if z.loc[c, "monetary"] >= 0 else "Low-value regular")
    # features that can tell clusters apart: those given, in QUALIFIERS order
    feats = [f for f in QUALIFIERS if f in z_centroids.columns]
    zq = z_centroids.reindex(columns=feats).fillna(0.0).to_numpy(dtype=float)
    out = list(base)
    for name in dict.fromkeys(base):
        idx = [i for i, b in enumerate(base) if b == name]
        if len(idx) > 1:
            for i, q in zip(idx, _qualify(zq[idx], feats)):
                out[i] = f"{name} ({q})"
    return out


def _qualify(zg: np.ndarray, feats: list[str], min_gap: float = 1e-6) -> list[str]:
    """One distinct qualifier per row of ``zg`` (centroid z-scores of clusters that share a
    name): for each cluster, its deviation from the mean of the others on every feature;
    the largest deviations are taken greedily, each qualifier ("more recent", "higher
    spend", ...) at most once and one per cluster, so two clusters get the two ends of
    the feature on which they differ most. A cluster left without one (both ends taken, e.g.
    three clusters apart on recency only) takes the middle of the feature on which the
    clusters of that name spread most ("mid recency"). A cluster left without any (identical
    centroids, closer than ``min_gap`` on every feature, or more clusters than qualifiers)
    gets "#n", its position among those of that name."""
    n = len(zg)
    others = (zg.sum(axis=0, keepdims=True) - zg) / max(n - 1, 1)
    dev = zg - others
    cand = sorted(
        ((-abs(dev[i, j]), j, i) for i in range(n) for j in range(len(feats))), key=lambda t: (t[0], t[1], t[2])
    )
    out: list[str | None] = [None] * n
    used: set[str] = set()
    for neg, j, i in cand:
        if -neg < min_gap:
            break
        if out[i] is not None:
            continue
        q = QUALIFIERS[feats[j]][1 if dev[i, j] > 0 else 0]
        if q in used:
            continue
        out[i] = q
        used.add(q)
    spread = zg.max(axis=0) - zg.min(axis=0)
    for i in (i for i in range(n) if out[i] is None):
        for j in sorted(range(len(feats)), key=lambda j: (-spread[j], j)):
            q = QUALIFIER_MIDDLE[feats[j]]
            if spread[j] >= min_gap and q not in used:
                out[i] = q
                used.add(q)
                break
    return [q if q is not None else f"#{i + 1}" for i, q in enumerate(out)]


def _baseline_labels(X: pd.DataFrame, rfm: pd.DataFrame | None, k: int) -> tuple[str, np.ndarray]:
    if rfm is not None and len(rfm) and "segment" in rfm.columns:
        seg = rfm.assign(customer_id=rfm["customer_id"].astype("Int64")).set_index("customer_id")["segment"]
        lab = seg.reindex(X.index).astype("string").fillna("unknown")
        codes = pd.factorize(lab, sort=True)[0]
        return "rfm_segments", codes
    ranks = X["monetary"].rank(method="first")
    return "monetary_tiers", pd.qcut(ranks, k, labels=False).to_numpy()


def check_segmentation_data(n_customers: int, cfg: SegmentationConfig) -> DataCheck:
    return min_data(
        "customer segmentation", [Requirement("customers", "customers with a purchase", cfg.min_customers, n_customers)]
    )


def run_segmentation(
    lines: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    rfm: pd.DataFrame | None = None,
    config: SegmentationConfig | None = None,
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> SegmentationResult:
    """Segment customers; see the module docstring. Works with empty ``customers``.

    ``span``: the first and last invoice date of all the data when ``lines`` are a sample
    of the customers (the as-of date is the day after the last). ``result.model`` assigns
    further customers (:func:`assign_segments`)."""
    cfg = config or SegmentationConfig()
    t0 = time.perf_counter()
    as_of = cfg.as_of
    if as_of is None and span is not None:
        as_of = pd.Timestamp(span[1]).normalize() + pd.Timedelta(days=1)
    X, T = _features_as_of(lines, customers, rfm, as_of, cfg.min_profile_coverage)
    check = check_segmentation_data(len(X), cfg)
    run = ModelRun(
        model="segmentation_kmeans",
        task="segmentation",
        params=asdict(cfg),
        primary_metric="silhouette",
        data_check=check,
    )
    if span is not None:
        run.data_start, run.data_end = pd.Timestamp(span[0]), pd.Timestamp(span[1])
    elif lines is not None and len(lines):
        run.data_start = pd.to_datetime(lines["invoice_date"]).min()
        run.data_end = pd.to_datetime(lines["invoice_date"]).max()
    k_values = [k for k in range(cfg.k_min, cfg.k_max + 1) if k < len(X)]
    if len(X) < max(10, cfg.k_min + 1) or not k_values:
        run.decide()
        return SegmentationResult(
            pd.DataFrame(
                {
                    "customer_id": pd.Series(dtype="Int64"),
                    "cluster": pd.Series(dtype="int64"),
                    "segment_name": pd.Series(dtype="string"),
                }
            ),
            pd.DataFrame(),
            pd.DataFrame(columns=["k", "inertia", "silhouette", "chosen"]),
            run,
            check,
            list(X.columns),
            {"total": time.perf_counter() - t0},
        )

    imp, capped, (med_fit, lo_fit, hi_fit) = _prepare_with_params(X, cfg)
    scaler = StandardScaler().fit(capped.to_numpy())
    S = scaler.transform(capped.to_numpy())
    pca = PCA(n_components=cfg.pca_variance, svd_solver="full", random_state=cfg.random_state)
    Z = pca.fit_transform(S)

    rows, fits = [], {}
    for k in k_values:
        km = _kmeans(Z, k, cfg.random_state, cfg.n_init)
        fits[k] = km
        rows.append({"k": k, "inertia": float(km.inertia_), "silhouette": _silhouette(Z, km.labels_, cfg)})
    k_scores = pd.DataFrame(rows)
    best_k = int(k_scores.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]["k"])
    k_scores["chosen"] = k_scores["k"] == best_k
    km = fits[best_k]

    # deterministic renumbering: by centroid monetary (desc), then frequency (desc)
    zc = pd.DataFrame(S, index=X.index, columns=X.columns).groupby(km.labels_).mean()
    order = zc.sort_values(["monetary", "frequency"], ascending=[False, False], kind="mergesort").index
    remap = {old: new for new, old in enumerate(order)}
    labels = np.array([remap[v] for v in km.labels_])
    zc = zc.rename(index=remap).sort_index()
    medians = imp.groupby(labels).median()
    names = name_clusters(zc, cfg.name_threshold, medians, cfg.new_max_tenure_days, cfg.lapsed_min_recency_days)

    segments = pd.DataFrame(
        {
            "customer_id": X.index.astype("Int64"),
            "cluster": labels.astype("int64"),
            "segment_name": pd.array([names[c] for c in labels], dtype="string"),
        }
    )

    # profiles: size, share, raw means (imputed, uncapped), z-scores of the centroid
    prof = imp.groupby(labels).mean().add_prefix("mean_")
    med = imp.groupby(labels).median()[["recency_days", "frequency", "monetary"]].add_prefix("median_")
    sizes = pd.Series(labels).value_counts().sort_index()
    profiles = pd.DataFrame(
        {
            "cluster": sizes.index.astype("int64"),
            "segment_name": pd.array([names[c] for c in sizes.index], dtype="string"),
            "n_customers": sizes.to_numpy().astype("int64"),
            "share": (sizes / sizes.sum()).to_numpy(),
        }
    )
    profiles = profiles.join(prof, on="cluster").join(med, on="cluster")
    profiles["description"] = [_describe(zc.loc[c]) for c in profiles["cluster"]]
    profiles["k"] = best_k
    profiles["silhouette"] = float(k_scores.loc[k_scores["k"] == best_k, "silhouette"].iloc[0])

    # metrics: silhouette vs baseline labelling; stability against another seed
    sil = float(k_scores.loc[k_scores["k"] == best_k, "silhouette"].iloc[0])
    alt = _kmeans(Z, best_k, cfg.random_state + 1, cfg.n_init)
    ari = float(adjusted_rand_score(km.labels_, alt.labels_))
    bname, blabels = _baseline_labels(X, rfm, best_k)
    run.metrics = {
        "silhouette": sil,
        "stability_ari": ari,
        "n_clusters": float(best_k),
        "pca_components": float(pca.n_components_),
    }
    run.baselines = {bname: {"silhouette": _silhouette(Z, blabels, cfg)}}
    run.extra_checks = [(f"stability_ari {ari:.3f} >= {cfg.min_stability_ari}", ari >= cfg.min_stability_ari)]
    run.n_train = len(X)
    # canonical form: clusters in their deterministic order, values rounded so that
    # floating-point summation order (row order of the input) does not change the hash
    centers = km.cluster_centers_[np.asarray(order)]
    run.artifact_hash = artifact_hash(
        {
            k: np.round(v, 8)
            for k, v in {
                "scaler_mean": scaler.mean_,
                "scaler_scale": scaler.scale_,
                "pca": np.abs(pca.components_),
                "centers": np.abs(centers),
            }.items()
        }
    )
    run.notes.append(
        f"features: {', '.join(X.columns)}; k={best_k} chosen by silhouette over "
        f"{cfg.k_min}..{cfg.k_max}; {pca.n_components_} PCA components"
    )
    run.decide()
    model = SegmentationModel(
        list(X.columns),
        med_fit,
        lo_fit,
        hi_fit,
        scaler,
        pca,
        km,
        {int(k): int(v) for k, v in remap.items()},
        list(names),
        T,
    )
    return SegmentationResult(
        segments, profiles, k_scores, run, check, list(X.columns), {"total": time.perf_counter() - t0}, model
    )


def assign_segments(
    model: SegmentationModel, lines: pd.DataFrame | None, customers: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The fitted segment of every customer with a purchase in ``lines`` (the
    ``ml.customer_segments`` rows): features as of the model's date, imputed and capped with
    the training medians and caps, scaled, projected and put in the nearest centroid. A
    customer's row depends only on their own lines and profile (chunks give the same rows)."""
    X, _ = _features_as_of(lines, customers, None, model.as_of, 0.0)
    if len(X) == 0:
        return pd.DataFrame(
            {
                "customer_id": pd.Series(dtype="Int64"),
                "cluster": pd.Series(dtype="int64"),
                "segment_name": pd.Series(dtype="string"),
            }
        )
    X = X.reindex(columns=model.columns)
    imp = X.fillna(model.medians)
    capped = imp.clip(lower=model.cap_low, upper=model.cap_high, axis=1)
    Z = model.pca.transform(model.scaler.transform(capped.to_numpy()))
    labels = np.array([model.remap[int(v)] for v in model.kmeans.predict(Z)], dtype="int64")
    return pd.DataFrame(
        {
            "customer_id": X.index.astype("Int64"),
            "cluster": labels,
            "segment_name": pd.array([model.names[c] for c in labels], dtype="string"),
        }
    )


def recount_profiles(profiles: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """``profiles`` with ``n_customers`` and ``share`` counted over ``segments`` (every
    customer assigned, not only those the model was fitted on); the other columns describe
    the customers it was fitted on."""
    if len(profiles) == 0:
        return profiles
    sizes = segments["cluster"].value_counts().reindex(profiles["cluster"], fill_value=0)
    out = profiles.copy()
    out["n_customers"] = sizes.to_numpy().astype("int64")
    total = int(sizes.sum())
    out["share"] = sizes.to_numpy() / total if total else 0.0
    return out


def _describe(z: pd.Series, n: int = 3) -> str:
    top = z.reindex(z.abs().sort_values(ascending=False, kind="mergesort").index)[:n]
    return ", ".join(f"{name} {v:+.1f} sd" for name, v in top.items())
