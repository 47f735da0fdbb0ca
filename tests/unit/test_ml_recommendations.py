"""Recommendations: planted bundle, exclusions, reasons, fallback, FBT, offline evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.data import prepare_lines
from ml_assets.recommendations import (
    CANDIDATES,
    FBT_COLUMNS,
    REC_COLUMNS,
    RecConfig,
    choose_champion,
    holdout_last_basket,
    item_universe,
    purchases,
    run_recommendations,
)
from tests.synthetic_shop import simulate_shop

T0 = pd.Timestamp("2024-01-01")


def bundle_lines(n_customers: int = 200, seed: int = 0) -> pd.DataFrame:
    """Random baskets over 40 filler items; whoever buys BUNDLE_A also buys BUNDLE_B.

    Customer 1 bought BUNDLE_A only (and fillers), so B is the obvious recommendation.
    """
    rng = np.random.default_rng(seed)
    rows = []
    inv = 0
    for c in range(2, n_customers + 2):
        for b in range(3):
            inv += 1
            items = {f"F{rng.integers(0, 40):02d}" for _ in range(4)}
            if rng.random() < 0.3:
                items |= {"BUNDLE_A", "BUNDLE_B"}
            for it in sorted(items):
                rows.append(
                    {
                        "invoice": str(inv),
                        "stock_code": it,
                        "customer_id": c,
                        "invoice_date": T0 + pd.Timedelta(days=10 * b + c % 7),
                        "quantity": 1,
                        "unit_price": 1.0,
                        "description": f"DESC {it}",
                    }
                )
    for it in ["BUNDLE_A", "F01", "F02"]:
        rows.append(
            {
                "invoice": "999999",
                "stock_code": it,
                "customer_id": 1,
                "invoice_date": T0 + pd.Timedelta(days=5),
                "quantity": 1,
                "unit_price": 1.0,
                "description": f"DESC {it}",
            }
        )
    return prepare_lines(pd.DataFrame(rows))


CFG = RecConfig(min_customers=10, min_items=5)


@pytest.mark.parametrize("method", ["ease", "cosine"])
def test_planted_bundle_is_recommended_with_reason(method):
    res = run_recommendations(bundle_lines(), config=RecConfig(**{**CFG.__dict__, "method": method}))
    r = res.recommendations
    assert list(r.columns) == REC_COLUMNS
    top = r[(r.customer_id == 1) & (r["rank"] == 1)].iloc[0]
    assert top["stock_code"] == "BUNDLE_B"
    assert top["reason"] == "bought with BUNDLE_A (DESC BUNDLE_A)"
    assert top["source"] == "model"


def test_already_bought_items_are_excluded_unless_configured():
    lines = bundle_lines()
    res = run_recommendations(lines, config=CFG)
    b = purchases(lines)
    bought = {c: set(g) for c, g in b.groupby("customer_id")["stock_code"]}
    for cid, g in res.recommendations.groupby("customer_id"):
        assert not (set(g["stock_code"]) & bought[cid])
        assert list(g["rank"]) == list(range(1, 11))
        assert g["stock_code"].is_unique
    res2 = run_recommendations(lines, config=RecConfig(**{**CFG.__dict__, "exclude_purchased": False}))
    again = {c: set(g) for c, g in res2.recommendations.groupby("customer_id")["stock_code"]}
    assert any(again[c] & bought[c] for c in again)


def test_popularity_fallback_for_new_customers():
    lines = bundle_lines()
    profiles = pd.DataFrame({"customer_id": [1, 2, 77777]})  # 77777 never bought anything
    res = run_recommendations(lines, customers=profiles, config=CFG)
    new = res.recommendations[res.recommendations.customer_id == 77777]
    assert len(new) == 10
    assert (new["reason"] == "popular").all() and (new["source"] == "popularity").all()
    assert new["score"].isna().all()
    pop = purchases(lines).groupby("stock_code")["customer_id"].nunique().sort_values(ascending=False)
    assert new.iloc[0]["stock_code"] == pop.index[0]


def test_frequently_bought_together_finds_the_bundle():
    res = run_recommendations(bundle_lines(), config=CFG)
    f = res.fbt
    assert list(f.columns) == FBT_COLUMNS
    a = f[(f.stock_code == "BUNDLE_A") & (f["rank"] == 1)].iloc[0]
    assert a["other_stock_code"] == "BUNDLE_B"
    assert a["lift"] > 2 and a["confidence"] > 0.9
    assert a["score"] == pytest.approx(
        a["co_baskets"] / np.sqrt(a["co_baskets"] / a["confidence"] * (a["co_baskets"] / a["confidence"])), rel=0.1
    )
    assert (f.groupby("stock_code")["rank"].max() <= 10).all()


def test_holdout_takes_each_customers_last_basket():
    lines = bundle_lines(n_customers=20)
    buys = purchases(lines)
    train, test = holdout_last_basket(buys)
    assert len(train) + len(test) == len(buys)
    last = buys.groupby("customer_id")["invoice_date"].max()
    assert (test.groupby("customer_id")["invoice_date"].min() == last.loc[test.customer_id.unique()]).all()
    assert 1 not in set(test["customer_id"])  # a single basket is never held out


def test_item_universe_is_capped_and_said():
    lines = bundle_lines()
    items, cov = item_universe(purchases(lines), max_items=10)
    assert len(items) == 10 and cov["n_items_total"] == 42
    res = run_recommendations(lines, config=RecConfig(**{**CFG.__dict__, "max_items": 10}))
    assert set(res.recommendations["stock_code"]) <= set(items)
    assert any("capped to the top 10 of 42 items" in n for n in res.run.notes)


def test_model_beats_popularity_on_customers_with_tastes():
    shop = simulate_shop(n_customers=600, n_products=150, n_weeks=52, seed=8, favourite_share=0.8)
    res = run_recommendations(shop.lines, config=CFG)
    m, b = res.run.metrics, res.run.baselines["popularity"]
    assert m["ndcg@10"] > 1.2 * b["ndcg@10"]
    assert m["coverage"] > b["coverage"]
    assert res.run.publishable, res.run.reason
    assert set(res.evaluation["model"]) == {"ease", "cosine", "popularity", "popularity_recent"}


def test_too_little_data_is_refused_with_message():
    lines = bundle_lines(n_customers=5)
    res = run_recommendations(lines)
    assert not res.run.publishable
    assert "need >= 100 customers with >= 2 baskets (have 5)" in res.run.reason


def test_champion_is_the_best_candidate_and_is_recorded():
    k = CFG.k
    results = {
        "ease": {f"ndcg@{k}": 0.10},
        "cosine": {f"ndcg@{k}": 0.12},
        "popularity_recent": {f"ndcg@{k}": 0.11},
        "popularity": {f"ndcg@{k}": 0.05},
    }
    assert choose_champion(results, RecConfig(method="auto")) == "cosine"
    assert choose_champion(results, RecConfig(method="ease")) == "ease"
    shop = simulate_shop(n_customers=600, n_products=150, n_weeks=52, seed=8, favourite_share=0.8)
    res = run_recommendations(shop.lines, config=CFG)
    champion = res.run.params["champion"]
    ev = res.evaluation.set_index("model")[f"ndcg@{k}"]
    assert champion == ev.loc[list(CANDIDATES)].idxmax()
    assert res.run.model == f"recs_{champion}"
    assert res.run.metrics[f"ndcg@{k}"] == ev[champion]
    # every other candidate is recorded beside the naive baseline, only the naive one is required
    assert set(res.run.baselines) == {"popularity", *CANDIDATES} - {champion}
    assert res.run.required_baselines == ["popularity"]


def test_recent_popularity_champion_recommends_recent_bestsellers_not_bought():
    shop = simulate_shop(n_customers=300, n_products=80, n_weeks=40, seed=3)
    res = run_recommendations(shop.lines, config=RecConfig(**{**CFG.__dict__, "method": "popularity_recent"}))
    recs = res.recommendations
    assert res.run.model == "recs_popularity_recent" and len(recs)
    assert set(recs["source"]) == {"popularity"} and set(recs["reason"]) == {"popular"}
    assert recs.groupby("customer_id").size().max() == CFG.k
