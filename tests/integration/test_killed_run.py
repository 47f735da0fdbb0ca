"""A run killed mid-write (kill -9: what the OOM killer or a reboot does) never blocks the next.

The killed run holds the single-writer pool slot when it dies. The next `cli materialize`
fails it by name, releases the slot, and completes with exactly the rows of a clean run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from devtools.generator import generate
from ecom_platform.config import REPO_ROOT

pytestmark = pytest.mark.integration


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOM_", "DAGSTER_HOME"))}
    env.update(ECOM_DATA_DIR=str(root), ECOM_LANDING=str(root / "landing"), DAGSTER_HOME=str(root / "dagster_home"))
    return env


def _materialize(root: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ecom_platform.cli", "materialize", "--select", "raw/events"],
        cwd=REPO_ROOT,
        env=_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def test_a_run_killed_while_holding_the_writer_slot_does_not_block_the_next(tmp_path, monkeypatch, dbt_manifest):
    # the instance of the runs below, as every process of theirs opens it (dagster.yaml's event
    # log storage names its files through DAGSTER_HOME, ecom_platform/event_log.py)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    manifest = generate(tmp_path / "landing", scale=0.2, seed=11, progress=None)
    files = [f for f in manifest["files"] if f["source"] == "events"]
    expected = sum(f["rows_written"] - f["bad_rows"] for f in files)

    first = _materialize(tmp_path)
    home = tmp_path / "dagster_home"
    deadline = time.monotonic() + 240
    holder = None
    while time.monotonic() < deadline and first.poll() is None:
        if (home / "dagster.yaml").exists():
            with dg.DagsterInstance.from_config(str(home)) as instance:
                info = instance.event_log_storage.get_concurrency_info("duckdb_writer")
                if info.claimed_slots:
                    holder = info.claimed_slots[0].run_id
                    break
        time.sleep(0.2)
    assert holder is not None and first.poll() is None, "the first run never took the writer slot"
    time.sleep(1.0)  # mid-write
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)

    second = _materialize(tmp_path)
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out[-3000:]
    assert (
        f"run {holder} (__ASSET_JOB) was STARTED but its process is gone" in out
        or f"run {holder} (ecom_cli_selection) was STARTED but its process is gone" in out
    ), out[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(holder).status == dg.DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_info("duckdb_writer").claimed_slots == []
    con = duckdb.connect(str(tmp_path / "dev" / "warehouse.duckdb"), read_only=True)
    try:
        n, keys = con.execute("SELECT count(*), count(DISTINCT (_file_sha256, _row_number)) FROM raw.events").fetchone()
        loaded = con.execute(
            "SELECT count(*) FROM raw.ingest_log WHERE source = 'events' AND status = 'loaded'"
        ).fetchone()
    finally:
        con.close()
    assert (n, keys) == (expected, expected)  # nothing lost, nothing duplicated
    assert loaded == (len(files),)
