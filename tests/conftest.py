"""Shared fixtures: an isolated environment (temp data dir, warehouse, landing) per test module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ecom_platform import config

SHARED_DATASETS = config.REPO_ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session", autouse=True)
def _isolated_dagster_home(tmp_path_factory):
    """Never let tests write into the developer's data/ folder or Dagster instance."""
    root = tmp_path_factory.mktemp("ecom_session")
    old = {k: os.environ.get(k) for k in ("ECOM_DATA_DIR", "DAGSTER_HOME", "ECOM_WAREHOUSE", "ECOM_LANDING", "ECOM_ENV")}
    os.environ["ECOM_DATA_DIR"] = str(root / "data")
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    (root / "dagster_home").mkdir()
    for k in ("ECOM_WAREHOUSE", "ECOM_LANDING", "ECOM_ENV"):
        os.environ.pop(k, None)
    yield root
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def dbt_manifest(_isolated_dagster_home) -> Path:
    """The dbt manifest, prepared once (as `make prepare` does) if it is missing."""
    from ecom_platform.cli import prepare

    path = config.DBT_PROJECT_DIR / "target" / "manifest.json"
    if not path.exists():
        prepare(config.get_settings())
    return path


def use_environment(monkeypatch, root: Path, **extra: str) -> config.Settings:
    """Point every setting at ``root`` and return the resulting Settings."""
    monkeypatch.setenv("ECOM_DATA_DIR", str(root))
    monkeypatch.setenv("ECOM_WAREHOUSE", str(root / "dev" / "warehouse.duckdb"))
    monkeypatch.setenv("ECOM_LANDING", str(root / "landing"))
    for k, v in extra.items():
        monkeypatch.setenv(k, v)
    settings = config.get_settings()
    settings.export_for_dbt()
    return settings
