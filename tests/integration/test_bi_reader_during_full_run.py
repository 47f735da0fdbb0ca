"""A BI reader process queries the BI copy in a loop while a FULL materialization runs.

The issue's acceptance test, on the real pipeline (no hand-written writer): the project's
generator writes a small shop; a first full materialization of every asset (ingestion,
dbt, the four ML models, the BI copy, the dashboard) builds the warehouse and publishes
BI version 1. Then the shop's last month of transactions and events lands, and a second
full materialization of every asset runs in this process while a separate reader process
(``bi_reader_loop.py``, only ``duckdb``) opens the published path read-only in a loop. The
second run publishes version 2 at its end, with different totals.

Expected: both runs succeed with zero failed steps and zero failed checks, apart from the
ML "publishable" verdicts, which only warn (at scale 0.1 churn has fewer than the 500 repeat
customers it needs, so ml.churn_scores is not published and ml.model_status says why, while
segments, forecast and recommendations are); the reader has zero errors, read many times while the run
was running, saw both versions, and every read was consistent across relations; each
version always showed the same totals; and those totals equal the live warehouse's
``marts.kpi_sales_daily`` and ``marts.fct_orders`` totals after the run that published it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from devtools.generator import generate
from ecom_platform.config import REPO_ROOT
from tests.conftest import check_results, materialize_everything, step_failures, use_environment

pytestmark = pytest.mark.integration

# Small enough to keep the test short, big enough that segments and recommendations are
# published in both runs (the first one without the last month).
SCALE = 0.1
SEED = 7
READER = Path(__file__).with_name("bi_reader_loop.py")
BI_COPY = "bi_copy/warehouse"


def _published_version(result) -> str | None:
    for e in result.all_events:
        if e.event_type_value == "ASSET_MATERIALIZATION":
            m = e.event_specific_data.materialization
            if m.asset_key.to_user_string() == BI_COPY:
                return m.metadata["version"].value
    return None


def _assert_green(result, label: str) -> None:
    assert step_failures(result) == [], f"{label}: failed steps"
    failed_checks = [k for k, ok in check_results(result).items() if not ok]
    # a model below its minimum only warns (its reason is in ml.model_status)
    assert [k for k in failed_checks if not k.endswith("_model:publishable")] == [], f"{label}: failed checks"
    assert result.success, label
    assert _published_version(result), f"{label}: the BI copy was not published"


def _documented_columns() -> dict[str, set[str]]:
    """``{"schema.table": {columns}}`` from the table rows of docs/bi.md."""
    out = {}
    for line in (REPO_ROOT / "docs" / "bi.md").read_text().splitlines():
        m = re.match(r"^\| `((?:bi|ml)\.\w+)` \|(.*)$", line)
        if m:
            out[m.group(1)] = set(re.findall(r"`(\w+)`", m.group(2)))
    return out


def _live_totals(warehouse: Path) -> dict:
    """The issue's example, on the live warehouse: kpi_sales_daily totals vs fct_orders totals."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        kpi_revenue, kpi_orders = con.execute("SELECT sum(revenue), sum(orders) FROM marts.kpi_sales_daily").fetchone()
        orders_revenue, orders = con.execute(
            "SELECT sum(merchandise_amount), count(*) FILTER (WHERE NOT is_cancellation AND has_merchandise) "
            "FROM marts.fct_orders"
        ).fetchone()
    assert (kpi_revenue, kpi_orders) == (orders_revenue, orders), "kpi_sales_daily and fct_orders disagree"
    return {"revenue": kpi_revenue, "orders": int(kpi_orders)}


def test_reader_during_a_full_materialization_sees_only_complete_consistent_versions(
    tmp_path, dbt_manifest, monkeypatch
):
    t_start = time.monotonic()
    root = tmp_path / "shop"
    manifest = generate(root / "landing", scale=SCALE, seed=SEED, progress=None)
    # Hold back the last month of transactions and events: it lands before the second run,
    # so the version that run publishes differs from the first one.
    held = tmp_path / "held_back"
    held.mkdir()
    last = {src: max(f["path"] for f in manifest["files"] if f["source"] == src) for src in ("transactions", "events")}
    for rel in last.values():
        shutil.move(root / "landing" / rel, held / Path(rel).name)

    settings = use_environment(monkeypatch, root, ECOM_BI_DIR=str(root / "dev" / "bi"), ECOM_ENV="dev")
    bi_dir = settings.bi_dir

    first = materialize_everything(settings)
    _assert_green(first, "first run")
    v1 = _published_version(first)
    live1 = _live_totals(settings.warehouse_path)

    for rel in last.values():
        shutil.move(held / Path(rel).name, root / "landing" / rel)

    stop, ready, out = tmp_path / "stop", tmp_path / "ready", tmp_path / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, str(READER), str(bi_dir), str(stop), str(out), str(ready)],
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert reader.poll() is None, reader.communicate()[1]
            assert time.monotonic() < deadline, "the reader never completed a read"
            time.sleep(0.1)
        run_start = time.time()
        second = materialize_everything(settings)  # every asset, while the reader reads
        run_end = time.time()
        stop.touch()
        _, err = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.communicate()
    assert reader.returncode == 0, err

    _assert_green(second, "second run")
    v2 = _published_version(second)
    live2 = _live_totals(settings.warehouse_path)
    r = json.loads(out.read_text())
    versions = r["versions"]
    reads_during_run = sum(1 for t in r["read_times"] if run_start <= t <= run_end)

    # Zero errors, every read consistent within itself.
    assert r["errors"] == []
    assert r["inconsistent"] == []
    # The reader was busy all along and saw exactly the two published versions, in order.
    assert reads_during_run >= 50 and r["parquet_reads"] >= 10, (reads_during_run, r["reads"], r["parquet_reads"])
    assert versions[v1]["first"] < run_start and versions[v1]["last"] > run_start + 0.5 * (run_end - run_start)
    assert sorted(versions) == [v1, v2], list(versions)
    assert v1 < v2
    assert versions[v2]["first"] <= run_end + 5 and versions[v2]["reads"] >= 1
    # Each version always showed one and the same content, and the versions differ.
    assert [len(versions[v]["totals"]) for v in (v1, v2)] == [1, 1]
    t1, t2 = versions[v1]["totals"][0], versions[v2]["totals"][0]
    assert Decimal(t1["revenue"]) < Decimal(t2["revenue"]) and t1["orders"] < t2["orders"]
    assert (t1["model_runs"], t2["model_runs"]) == (1, 2)  # ml.model_metrics keeps every run's metrics
    # Each version equals the live warehouse after the run that published it.
    assert (Decimal(t1["revenue"]), t1["orders"]) == (live1["revenue"], live1["orders"])
    assert (Decimal(t2["revenue"]), t2["orders"]) == (live2["revenue"], live2["orders"])
    # Parquet read the documented way (resolve `current` once) matches the DuckDB file of its version.
    for v, ptotals in r["parquet_versions"].items():
        assert [{"revenue": p["revenue"], "units": p["units"]} for p in ptotals] == [
            {"revenue": versions[v]["totals"][0]["revenue"], "units": versions[v]["totals"][0]["units"]}
        ]
    # docs/bi.md lists every column that was published (no drift).
    documented = _documented_columns()
    published = json.loads((bi_dir / "manifest.json").read_text())["tables"]
    undocumented = {
        f"{t['schema']}.{t['table']}": sorted(
            {c["name"] for c in t["columns"]} - documented.get(f"{t['schema']}.{t['table']}", set())
        )
        for t in published
    }
    assert {k: v for k, v in undocumented.items() if v} == {}, "columns missing from docs/bi.md"
    # The copy names its source relative to the data dir, not by a host path.
    with duckdb.connect(str(bi_dir / "ecom_bi.duckdb"), read_only=True) as con:
        assert con.execute("SELECT version, source_warehouse FROM meta.publish_info").fetchone() == (
            v2,
            "dev/warehouse.duckdb",
        )
    print(
        f"\nBI reader during a full run: scale {SCALE}, {r['reads']} reads ({reads_during_run} during the "
        f"{run_end - run_start:.0f} s run), {r['parquet_reads']} Parquet reads, versions {v1} -> {v2}, "
        f"test {time.monotonic() - t_start:.0f} s"
    )
