"""Shared fixtures: an isolated environment (temp data dir, warehouse, landing) per test module."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ecom_platform import config

SHARED_DATASETS = config.REPO_ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session", autouse=True)
def _isolated_dagster_home(tmp_path_factory):
    """Never let tests write into the developer's data/ folder or Dagster instance."""
    root = tmp_path_factory.mktemp("ecom_session")
    old = {
        k: os.environ.get(k) for k in ("ECOM_DATA_DIR", "DAGSTER_HOME", "ECOM_WAREHOUSE", "ECOM_LANDING", "ECOM_ENV")
    }
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
    """The dbt manifest, prepared (as `make prepare` does) if it is missing or older than
    a dbt source file, so a plain `pytest` after editing the dbt project is not run on a
    stale manifest."""
    from ecom_platform.cli import prepare

    path = config.DBT_PROJECT_DIR / "target" / "manifest.json"
    sources = [
        f
        for d in ("models", "tests", "macros", "seeds")
        for f in (config.DBT_PROJECT_DIR / d).rglob("*")
        if f.is_file()
    ] + [config.DBT_PROJECT_DIR / "dbt_project.yml"]
    newest = max(f.stat().st_mtime for f in sources)
    if not path.exists() or path.stat().st_mtime < newest:
        # one pytest-xdist worker prepares while the other waits (two dbt parses writing
        # one manifest.json at once leave it torn)
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / ".prepare.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists() or path.stat().st_mtime < newest:
                prepare(config.get_settings())
    return path


def dbt_data_tests(manifest: Path) -> set[str]:
    """The names of the dbt project's data tests: each is a Dagster asset check of that name."""
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {n["name"] for n in nodes if n["resource_type"] == "test"}


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


def materialize_everything(
    settings: config.Settings, selection: str | None = None, instance=None, tags: dict[str, str] | None = None
):
    """Materialize (a selection of) the code location in process on ``settings``' warehouse
    (on ``instance``, or a fresh ephemeral one), with the run ``tags`` added."""
    import dagster as dg

    from ecom_platform.definitions import build_defs

    defs = build_defs(settings)
    job = defs.resolve_implicit_global_asset_job_def()
    if selection:
        job = dg.define_asset_job("test_selection", selection=selection).resolve(asset_graph=defs.resolve_asset_graph())
    return job.execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        # column schema and lineage are not under test here (make run in test_your_files
        # fetches them); they cost dbt's adapter a pass over every model
        tags={"ecom/column_metadata": "off", **(tags or {})},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )


def check_results(result) -> dict[str, bool]:
    """``{"asset/key:check_name": passed}`` for every check evaluated in a run."""
    out = {}
    for e in result.all_events:
        if e.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = e.event_specific_data
            out[f"{ev.asset_key.to_user_string()}:{ev.check_name}"] = ev.passed
    return out


def planned_checks(instance, result) -> set[str]:
    """``{"asset/key:check_name"}`` for every check the run planned (logged by the instance at launch)."""
    import dagster as dg

    out = set()
    for entry in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED):
        ev = entry.dagster_event.event_specific_data
        out.add(f"{ev.asset_key.to_user_string()}:{ev.check_name}")
    return out


def step_failures(result) -> list[str]:
    return [
        f"{e.step_key}: {e.event_specific_data.error.message[:2000]}" for e in result.all_events if e.is_step_failure
    ]


# The longest test files, started first (measured in CI, --durations): with `make test`'s
# `-n 2 --dist loadfile --no-loadscope-reorder` they run beside the many short files. Ordered
# by test count (xdist's default), the one-test exactness file started last and added its
# whole length to the suite's end.
LONGEST_FIRST = (
    "tests/integration/test_incremental_exactness.py",
    "tests/integration/test_pipeline_generated.py",
    "tests/integration/test_bi_reader_during_full_run.py",
    "tests/integration/test_your_files.py",
    "tests/integration/test_blocking_dbt_checks.py",
    "tests/integration/test_day_windows.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(LONGEST_FIRST)))
