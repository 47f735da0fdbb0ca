"""Segmentation: planted groups are found and named, reruns are identical, profiles optional."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.data import prepare_lines
from ml_assets.segmentation import (
    SegmentationConfig,
    _prepare,
    name_clusters,
    run_segmentation,
    segmentation_features,
)
from tests.synthetic_shop import simulate_shop

pytestmark = pytest.mark.component  # trains models / builds shops or Dagster runs: make test, not test-fast

START = pd.Timestamp("2023-01-02")
END = START + pd.Timedelta(days=728)


def planted_lines() -> tuple[pd.DataFrame, dict[str, list[int]]]:
    """Four groups: loyal big spenders, lapsed, brand new, bargain hunters."""
    rng = np.random.default_rng(11)
    rows, inv = [], 0
    groups: dict[str, list[int]] = {"loyal": [], "lapsed": [], "new": [], "cheap": []}

    def order(cust, when, n_items, price, qty):
        nonlocal inv
        inv += 1
        for _ in range(n_items):
            rows.append(
                {
                    "invoice": str(100000 + inv),
                    "stock_code": f"S{rng.integers(0, 400)}",
                    "customer_id": cust,
                    "invoice_date": when,
                    "quantity": qty,
                    "unit_price": price,
                    "country": "United Kingdom",
                }
            )

    cid = 1
    for _ in range(50):  # weekly, big baskets, full two years
        groups["loyal"].append(cid)
        for w in range(0, 104, 1):
            order(cid, START + pd.Timedelta(days=7 * w + int(rng.integers(0, 5))), 12, 4.0, 6)
        cid += 1
    for _ in range(50):  # three orders in the first two months, then gone
        groups["lapsed"].append(cid)
        for w in (1, 4, 8):
            order(cid, START + pd.Timedelta(days=7 * w + int(rng.integers(0, 5))), 3, 3.0, 2)
        cid += 1
    for _ in range(50):  # first (and only) order in the last three weeks
        groups["new"].append(cid)
        order(cid, END - pd.Timedelta(days=int(rng.integers(1, 20))), 3, 3.0, 2)
        cid += 1
    for _ in range(50):  # monthly, very cheap items
        groups["cheap"].append(cid)
        for w in range(20, 104, 4):
            order(cid, START + pd.Timedelta(days=7 * w + int(rng.integers(0, 5))), 4, 0.3, 3)
        cid += 1
    return prepare_lines(pd.DataFrame(rows)), groups


CFG = SegmentationConfig(min_customers=50, k_min=3, k_max=6)


def test_planted_groups_are_found_and_named():
    lines, groups = planted_lines()
    res = run_segmentation(lines, config=CFG)
    seg = res.segments.set_index("customer_id")
    expected = {"loyal": "High-value loyal", "lapsed": "Lapsed", "new": "New", "cheap": "Price-sensitive"}
    for g, name in expected.items():
        names = seg.loc[groups[g], "segment_name"]
        assert (names == name).mean() >= 0.9, (g, names.value_counts())
    assert res.run.metrics["stability_ari"] > 0.95
    assert res.run.metrics["silhouette"] > 0.5


def test_k_scores_record_inertia_and_silhouette_per_k():
    lines, _ = planted_lines()
    res = run_segmentation(lines, config=CFG)
    ks = res.k_scores
    assert list(ks["k"]) == [3, 4, 5, 6]
    assert ks["inertia"].is_monotonic_decreasing
    assert ks["chosen"].sum() == 1
    best = ks.loc[ks["silhouette"].idxmax(), "k"]
    assert ks.loc[ks["chosen"], "k"].item() == best
    assert res.profiles["n_customers"].sum() == len(res.segments)
    assert res.profiles["segment_name"].is_unique


def test_reruns_and_row_order_give_identical_segments():
    lines, _ = planted_lines()
    a = run_segmentation(lines, config=CFG)
    b = run_segmentation(lines.sample(frac=1.0, random_state=3).reset_index(drop=True), config=CFG)
    pd.testing.assert_frame_equal(a.segments, b.segments)
    pd.testing.assert_frame_equal(a.profiles, b.profiles)
    assert a.run.artifact_hash == b.run.artifact_hash


def test_profiles_with_missing_values_and_outliers_are_used():
    shop = simulate_shop(n_customers=400, n_products=60, n_weeks=60, seed=2)
    res = run_segmentation(shop.lines, shop.customers, config=CFG)
    assert {"age", "income", "household_size"} <= set(res.features_used)
    assert res.segments["cluster"].notna().all()
    assert len(res.segments) == shop.lines["customer_id"].nunique()
    # empty profile table: behavioural features only
    res2 = run_segmentation(shop.lines, shop.customers.iloc[0:0], config=CFG)
    assert "income" not in res2.features_used and len(res2.segments) == len(res.segments)


def test_age_from_birth_year_and_caps_at_95th_percentile():
    shop = simulate_shop(n_customers=300, n_products=50, n_weeks=40, seed=4)
    X = segmentation_features(shop.lines, shop.customers, None)
    cust = shop.customers.set_index("customer_id")
    some = X.index[X["age"].notna()][0]
    T = prepare_lines(shop.lines)["invoice_date"].max().normalize() + pd.Timedelta(days=1)
    assert X.loc[some, "age"] == T.year - cust.loc[some, "birth_year"]
    imp, capped = _prepare(X, CFG)
    assert not imp.isna().any().any()
    assert capped["income"].max() == pytest.approx(imp["income"].quantile(0.95))
    assert capped["monetary"].max() <= imp["monetary"].quantile(0.95) + 1e-9


def test_names_come_from_centroids_and_are_unique():
    z = pd.DataFrame(
        {
            "recency_days": [-1.0, 2.0, -0.5, 2.1],
            "frequency": [2.0, -1, -1, -1],
            "monetary": [2.0, -0.5, -0.6, 0.5],
            "tenure_days": [1.0, 0.5, -2.0, 0.5],
            "avg_unit_price": [0, 0, 0, 0],
            "avg_order_value": [0, 0, 0, 0],
        }
    )
    names = name_clusters(z)
    assert names[0] == "High-value loyal" and names[2] == "New"
    # two lapsed clusters: both qualified by what separates them most (monetary, 1 sd apart)
    assert names[1] == "Lapsed (lower spend)" and names[3] == "Lapsed (higher spend)"
    assert len(set(names)) == 4


def test_two_similar_high_value_clusters_get_distinct_meaningful_names():
    # both score as "High-value loyal"; they differ most on recency, a little on spend
    z = pd.DataFrame(
        {
            "recency_days": [-1.2, -0.2, 2.0],
            "frequency": [2.0, 1.9, -1.0],
            "monetary": [2.1, 1.9, -0.5],
            "tenure_days": [1.0, 1.0, 0.5],
            "avg_unit_price": [0.0, 0.0, 0.0],
            "avg_order_value": [0.1, 0.0, 0.0],
            "n_products": [0.5, 0.4, -0.5],
        }
    )
    names = name_clusters(z)
    assert names == ["High-value loyal (more recent)", "High-value loyal (less recent)", "Lapsed"]
    # the same with the recency gap replaced by a basket-size gap
    z2 = z.assign(recency_days=[-1.0, -1.0, 2.0], avg_order_value=[1.5, 0.2, 0.0])
    assert name_clusters(z2)[:2] == ["High-value loyal (bigger baskets)", "High-value loyal (smaller baskets)"]


@pytest.mark.parametrize("seed", range(20))
def test_names_are_unique_and_qualified_for_every_k_the_config_allows(seed):
    rng = np.random.default_rng(seed)
    cols = [
        "recency_days",
        "frequency",
        "monetary",
        "avg_order_value",
        "tenure_days",
        "avg_unit_price",
        "n_products",
        "income",
    ]
    for k in range(2, SegmentationConfig().k_max + 1):
        # spread-out centroids, and near-duplicates (all one archetype, small differences)
        spread = pd.DataFrame(rng.normal(0, 1.5, (k, len(cols))), columns=cols)
        close = pd.DataFrame(
            np.array([[-1.0, 2.0, 2.0, 0, 0, 0, 0, 0]]) + rng.normal(0, 0.05, (k, len(cols))), columns=cols
        )
        for z in (spread, close):
            names = name_clusters(z)
            assert len(set(names)) == k, names
            assert not any("#" in n or n[-1].isdigit() for n in names), names


def test_a_third_cluster_between_two_of_its_name_takes_the_middle_of_their_feature():
    # three "New" clusters apart on recency only: the two ends, then the middle
    z = pd.DataFrame(
        {"recency_days": [0.0, -0.03, 0.03], "tenure_days": [-2.0, -2.0, -2.0], "frequency": [-1.0, -1.0, -1.0]}
    )
    assert name_clusters(z) == ["New (mid recency)", "New (more recent)", "New (less recent)"]


def test_only_identical_centroids_fall_back_to_a_number():
    z = pd.DataFrame({"recency_days": [-1.0, -1.0], "frequency": [2.0, 2.0], "monetary": [2.0, 2.0]})
    assert name_clusters(z) == ["High-value loyal (#1)", "High-value loyal (#2)"]


def test_fitted_segments_at_the_largest_k_have_distinct_names():
    lines, _ = planted_lines()
    k = SegmentationConfig().k_max  # more clusters than the four planted groups
    res = run_segmentation(lines, config=SegmentationConfig(min_customers=50, k_min=k, k_max=k))
    names = res.profiles["segment_name"]
    assert len(names) == k and names.is_unique, list(names)
    assert not names.str.contains("#").any(), list(names)
    assert set(res.segments["segment_name"]) == set(names)


def test_too_few_customers_is_refused_with_message():
    lines, groups = planted_lines()
    few = lines[lines.customer_id.isin(groups["loyal"][:8])]
    res = run_segmentation(few)
    assert not res.run.publishable
    assert "need >= 200 customers with a purchase (have 8)" in res.run.reason


def test_rfm_segments_are_the_baseline_when_given():
    lines, groups = planted_lines()
    ids = sorted(lines["customer_id"].dropna().unique())
    seg = ["Champions" if c in groups["loyal"] else "Hibernating" for c in ids]
    rfm = pd.DataFrame({"customer_id": ids, "segment": seg})
    res = run_segmentation(lines, rfm=rfm, config=CFG)
    assert set(res.run.baselines) == {"rfm_segments"}
    assert res.run.metrics_frame()["baseline_name"].eq("rfm_segments").any()
