"""Churn's candidates (LightGBM, logistic regression) and naive baseline (recency alone), validated and chosen on inner cutoffs."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ml_assets.churn_data import LOG_FEATURES, ChurnConfig, _labelled, _stack
from ml_assets.evaluation import roc_auc
from ml_assets.features import (
    FeatureEncoder,
)


def _lgb_params(cfg: ChurnConfig, num_leaves: int | None = None) -> dict:
    return {
        "objective": "binary",
        "learning_rate": cfg.learning_rate,
        "num_leaves": num_leaves or cfg.num_leaves,
        "min_data_in_leaf": cfg.min_child_samples,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": cfg.reg_lambda,
        "num_threads": cfg.num_threads,
        "seed": cfg.random_state,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }


CANDIDATES = ("lightgbm", "logistic_regression")


NAIVE_BASELINE = "recency_only"


def _logreg_pipeline():
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))


def _lin_encoder(X: pd.DataFrame) -> FeatureEncoder:
    return FeatureEncoder(impute=True, log_features=LOG_FEATURES).fit(X)


def validate_candidates(lines, cut, customers, events, cfg, cache=None) -> dict:
    """The inner time-based validation: fit on ``validation_train_cutoffs``, score at
    ``validation_cutoff`` (the latest training cutoff, whose labels end at the eval
    cutoff). The eval cutoff's labels are never read.

    It picks LightGBM's ``(num_leaves, rounds)`` among ``model_candidates`` (ties within
    0.001 AUC go to the earlier, simpler candidate) and measures logistic regression on
    the same split, to choose the champion. Returns ``{"num_leaves", "n_rounds", "how",
    "auc"}``; ``auc`` = ``{candidate: validation ROC-AUC}`` (LightGBM at the chosen
    capacity), or None when there is too little data to validate (then LightGBM gets the
    fixed ``num_leaves`` / ``n_estimators``)."""
    out = {"num_leaves": cfg.num_leaves, "n_rounds": cfg.n_estimators, "how": "fixed", "auc": None}
    if not cut.get("validation_train_cutoffs"):
        return out
    X_in, y_in = _stack(lines, cut["validation_train_cutoffs"], customers, events, cfg, cache)
    X_va, y_va = _labelled(lines, cut["validation_cutoff"], customers, events, cfg, cache)
    if len(X_in) < 200 or y_in.nunique() < 2 or len(X_va) < 50 or y_va.nunique() < 2:
        if cfg.model_candidates:
            out["how"] = "fixed (too little data to validate)"
        return out
    enc = FeatureEncoder(impute=False).fit(X_in)
    ds = lgb.Dataset(
        enc.transform(X_in).to_numpy(),
        label=y_in.to_numpy(),
        feature_name=_safe_names(list(enc.columns_)),
        params={"verbose": -1},
        free_raw_data=False,
    )
    Xv = enc.transform(X_va).to_numpy()
    best, scores = None, []
    for leaves, rounds in cfg.model_candidates or ((cfg.num_leaves, cfg.n_estimators),):
        booster = lgb.train(_lgb_params(cfg, leaves), ds, num_boost_round=rounds)
        auc = roc_auc(y_va.to_numpy(), booster.predict(Xv))
        scores.append(f"{leaves}x{rounds} {auc:.3f}")
        if best is None or auc > best[0] + 1e-3:
            best = (auc, leaves, rounds)
    if cfg.model_candidates:
        out.update(
            num_leaves=best[1],
            n_rounds=best[2],
            how=f"validation AUC at {cut['validation_cutoff'].date()}: " + ", ".join(scores),
        )
    enc_lin = _lin_encoder(X_in)
    logreg = _logreg_pipeline()
    with threadpool_limits(limits=1, user_api="blas"):  # see _Models.fit
        logreg.fit(enc_lin.transform(X_in).to_numpy(), y_in.to_numpy())
        p_lr = logreg.predict_proba(enc_lin.transform(X_va).to_numpy())[:, 1]
    out["auc"] = {"lightgbm": float(best[0]), "logistic_regression": float(roc_auc(y_va.to_numpy(), p_lr))}
    return out


def choose_model(lines, cut, customers, events, cfg, cache=None) -> tuple[int, int, str]:
    """LightGBM ``(num_leaves, rounds)`` among ``model_candidates`` by the inner
    time-based validation (:func:`validate_candidates`; the eval cutoff's labels are never
    read). Falls back to ``num_leaves`` / ``n_estimators`` when there is too little data.
    Returns ``(num_leaves, n_rounds, how)``."""
    if not cfg.model_candidates or not cut.get("validation_train_cutoffs"):
        return cfg.num_leaves, cfg.n_estimators, "fixed"
    v = validate_candidates(lines, cut, customers, events, cfg, cache)
    return v["num_leaves"], v["n_rounds"], v["how"]


def _pick(auc: dict[str, float]) -> str:
    """The candidate with the higher ROC-AUC; an exact tie (or no AUC) goes to logistic
    regression, the simpler model."""
    lgb_auc, lr_auc = auc.get("lightgbm"), auc.get("logistic_regression")
    if lgb_auc is not None and not np.isnan(lgb_auc) and (lr_auc is None or np.isnan(lr_auc) or lgb_auc > lr_auc):
        return "lightgbm"
    return "logistic_regression"


class _Models:
    """The models fitted on one training set: the two candidates (LightGBM, logistic
    regression) and the naive baseline (recency alone), or only ``only`` of them.
    ``champion``: the candidate that scores customers (see :func:`score_churn`)."""

    def __init__(
        self,
        cfg: ChurnConfig,
        n_rounds: int | None = None,
        num_leaves: int | None = None,
        only: tuple[str, ...] | None = None,
        champion: str = "lightgbm",
    ):
        self.cfg = cfg
        self.n_rounds = n_rounds or cfg.n_estimators
        self.num_leaves = num_leaves or cfg.num_leaves
        self.only = tuple(only) if only else (*CANDIDATES, NAIVE_BASELINE)
        self.champion = champion
        self.booster = self.logreg = self.recency = None
        self.enc_tree = self.enc_lin = None

    def fit(self, X: pd.DataFrame, y: pd.Series) -> _Models:
        cfg = self.cfg
        if "lightgbm" in self.only:
            self.enc_tree = FeatureEncoder(impute=False).fit(X)
            Xt = self.enc_tree.transform(X)
            ds = lgb.Dataset(
                Xt.to_numpy(),
                label=y.to_numpy(),
                feature_name=_safe_names(list(Xt.columns)),
                free_raw_data=True,
                params={"verbose": -1},
            )
            self.booster = lgb.train(_lgb_params(cfg, self.num_leaves), ds, num_boost_round=self.n_rounds)
        # one BLAS thread: on a busy machine multi-threaded OpenBLAS made these small
        # lbfgs fits much slower (docs/benchmarks.md, Measured choices)
        with threadpool_limits(limits=1, user_api="blas"):
            if "logistic_regression" in self.only:
                self.enc_lin = _lin_encoder(X)
                self.logreg = _logreg_pipeline().fit(self.enc_lin.transform(X).to_numpy(), y.to_numpy())
            if NAIVE_BASELINE in self.only:
                self.recency = LogisticRegression(max_iter=1000).fit(_recency_x(X), y.to_numpy())
        return self

    @property
    def feature_names(self) -> list[str]:
        """The encoded feature names of the champion (the drivers and importance use them)."""
        enc = self.enc_tree if self.champion == "lightgbm" else self.enc_lin
        return list(enc.columns_)

    def predict(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        out = {}
        if self.booster is not None:
            out["lightgbm"] = self.booster.predict(self.enc_tree.transform(X).to_numpy())
        if self.logreg is not None:
            out["logistic_regression"] = self.logreg.predict_proba(self.enc_lin.transform(X).to_numpy())[:, 1]
        if self.recency is not None:
            out[NAIVE_BASELINE] = self.recency.predict_proba(_recency_x(X))[:, 1]
        return out

    def champion_artifact(self):
        """What the artifact hash is taken of: the booster or the fitted pipeline."""
        return self.booster if self.champion == "lightgbm" else self.logreg

    def score(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The champion's churn probability and per-feature log-odds contributions (rows of
        ``X``, columns :attr:`feature_names`). Row by row: the rows of a chunk of ``X`` are
        those of all of ``X``."""
        if self.champion == "lightgbm":
            Xt = self.enc_tree.transform(X).to_numpy()
            prob = self.booster.predict(Xt)
            contrib = self.booster.predict(Xt, pred_contrib=True)[:, :-1]  # last column = bias
            return prob, contrib
        scaler, lr = self.logreg[0], self.logreg[-1]
        Z = (self.enc_lin.transform(X).to_numpy() - scaler.mean_) / scaler.scale_
        contrib = Z * lr.coef_[0]  # the linear log-odds, term by term
        # elementwise and a per-row sum (no BLAS product): the same bits however many rows
        prob = expit(contrib.sum(axis=1) + lr.intercept_[0])
        return prob, contrib

    def importance(self) -> tuple[np.ndarray, np.ndarray]:
        """(gain, split) of the champion: LightGBM's, or |coef| and zero splits."""
        if self.champion == "lightgbm":
            return (
                self.booster.feature_importance("gain").astype(float),
                self.booster.feature_importance("split").astype("int64"),
            )
        coef = np.abs(self.logreg[-1].coef_[0]).astype(float)
        return coef, np.zeros(len(coef), dtype="int64")


def _recency_x(X: pd.DataFrame) -> np.ndarray:
    return np.log1p(X[["recency_days"]].astype(float).clip(lower=0).to_numpy())


def _safe_names(names: list[str]) -> list[str]:
    # LightGBM rejects some characters in feature names (JSON specials).
    out = []
    for n in names:
        s = "".join(ch if ch.isalnum() or ch in "_=-." else "_" for ch in n)
        out.append(s)
    return out
