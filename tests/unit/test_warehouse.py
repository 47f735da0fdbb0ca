import duckdb
import pytest

from ecom_platform.lib import warehouse
from ecom_platform.lib.warehouse import table_row_counts


def test_row_counts_cover_base_tables_only_in_one_pass():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA staging")
    con.execute("CREATE TABLE marts.fct AS SELECT range AS i FROM range(7)")
    con.execute("CREATE TABLE marts.empty (i INTEGER)")
    con.execute('CREATE TABLE staging."odd name" AS SELECT 1 AS i')
    con.execute("CREATE VIEW staging.v AS SELECT * FROM marts.fct")
    counts = table_row_counts(
        con, [("marts", "fct"), ("marts", "empty"), ("staging", "odd name"), ("staging", "v"), ("marts", "missing")]
    )
    assert counts == {("marts", "fct"): 7, ("marts", "empty"): 0, ("staging", "odd name"): 1}
    assert table_row_counts(con, []) == {}
    assert table_row_counts(con, [("staging", "v")]) == {}


def _hold_read_only(path, seconds: float):
    """Another process holding the file the way a BI tool on the live warehouse does."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}, read_only=True); print('held', flush=True); "
            f"time.sleep({seconds})",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.component  # waits for a reader to let go
def test_a_writer_waits_for_a_reader_on_the_live_file_then_writes(tmp_path):
    import time

    path = tmp_path / "w.duckdb"
    warehouse.connect(path).close()
    holder = _hold_read_only(path, 2.0)
    said = []
    t0 = time.monotonic()
    con = warehouse.connect(path, lock_wait_seconds=60, log=said.append)
    waited = time.monotonic() - t0
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    holder.wait()
    assert 1.0 < waited < 30
    assert len(said) == 1 and "is held by" in said[0] and f"(PID {holder.pid})" in said[0]


def test_a_writer_gives_up_after_the_wait_with_a_clear_message(tmp_path):
    path = tmp_path / "w.duckdb"
    warehouse.connect(path).close()
    holder = _hold_read_only(path, 10.0)
    try:
        with pytest.raises(
            warehouse.WarehouseLocked, match=rf"held by .*\(PID {holder.pid}\), still after 1 s .*BI copy"
        ):
            warehouse.connect(path, lock_wait_seconds=1, log=lambda m: None)
    finally:
        holder.kill()
        holder.wait()


def test_a_path_with_a_quote_connects_and_spills_beside_the_file(tmp_path):
    folder = tmp_path / "o'brien's shop"
    con = warehouse.connect(folder / "w.duckdb", memory_limit="1GB")
    try:
        temp = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        assert temp == str(folder / ".duckdb_tmp")
    finally:
        con.close()


def test_dbt_target_keeps_the_newest_invocation_folders_and_dbts_own_files(tmp_path):
    import os

    target = tmp_path / "target"
    (target / "compiled").mkdir(parents=True)
    (target / "manifest.json").write_text("{}")
    for i in range(60):
        d = target / f"dbt_models-{i:07x}-abcdef{i % 10}"
        d.mkdir()
        (d / "run_results.json").write_text("{}")
        os.utime(d, (1_000_000 + i, 1_000_000 + i))
    removed = warehouse.prune_dbt_invocation_folders(target, keep=10)
    left = sorted(p.name for p in target.iterdir())
    assert len(removed) == 50
    assert left == sorted(["compiled", "manifest.json"] + [f"dbt_models-{i:07x}-abcdef{i % 10}" for i in range(50, 60)])
