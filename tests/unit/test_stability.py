"""The stability rule: a file still being written is not loaded."""

from __future__ import annotations

import os
import threading
import time

from ecom_platform.lib.stability import split_stable


def test_old_files_are_stable_without_waiting(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for p in (a, b):
        p.write_text("x\n")
        os.utime(p, (time.time() - 60, time.time() - 60))
    t0 = time.monotonic()
    stable, changing = split_stable([a, b], lambda p: p, settle_seconds=2)
    assert (stable, changing) == ([a, b], [])
    assert time.monotonic() - t0 < 0.5


def test_a_file_still_being_written_is_left_for_later_and_named(tmp_path):
    done, growing = tmp_path / "done.csv", tmp_path / "growing.csv"
    done.write_text("a,b\n1,2\n")
    os.utime(done, (time.time() - 60, time.time() - 60))
    growing.write_text("a,b\n")
    stop = threading.Event()

    def writer():
        with open(growing, "a") as fh:
            while not stop.is_set():
                fh.write("1,2\n")
                fh.flush()
                time.sleep(0.05)

    t = threading.Thread(target=writer)
    t.start()
    said = []
    try:
        stable, changing = split_stable(
            [done, growing], lambda p: p, settle_seconds=0.3, max_wait_seconds=1.5, log=said.append
        )
    finally:
        stop.set()
        t.join()
    assert (stable, changing) == ([done], [growing])
    assert len(said) == 1 and "1 file(s) still being written" in said[0] and "growing.csv" in said[0]


def test_a_file_that_settles_within_the_wait_is_loaded(tmp_path):
    p = tmp_path / "late.csv"
    p.write_text("a\n")
    stable, changing = split_stable([p], lambda q: q, settle_seconds=0.3, max_wait_seconds=5)
    assert (stable, changing) == ([p], [])


def test_a_file_from_a_clock_ahead_of_ours_is_stable_when_it_does_not_change(tmp_path):
    future = tmp_path / "future.csv"
    future.write_text("x\n")
    os.utime(future, (time.time() + 3600, time.time() + 3600))
    t0 = time.monotonic()
    assert split_stable([future], lambda p: p, settle_seconds=2, max_wait_seconds=5) == ([future], [])
    assert time.monotonic() - t0 < 0.5


def test_make_run_does_not_load_a_file_still_being_written(tmp_path, monkeypatch, dbt_manifest):
    """The ingestion asset (what make run materializes) applies the rule: the growing file
    is named and left for the next run; the complete one loads."""
    import dagster as dg

    from ecom_platform.definitions import build_defs
    from ecom_platform.lib import stability
    from tests.conftest import use_environment
    from tests.shop_files import TRANSACTIONS_HEADER, transaction_lines, write

    settings = use_environment(monkeypatch, tmp_path)
    done = write(settings.landing_dir, "transactions/done.csv", TRANSACTIONS_HEADER, transaction_lines("2024-01-02", 3))
    os.utime(done, (time.time() - 60, time.time() - 60))
    growing = write(
        settings.landing_dir,
        "transactions/growing.csv",
        TRANSACTIONS_HEADER,
        transaction_lines("2024-01-03", 2, invoice_prefix="7"),
    )
    real = stability.split_stable

    def growing_while_we_look(items, path_of, **kw):
        # the exporter appends between the two looks
        def sleep(s):
            with open(growing, "a") as fh:
                fh.write(transaction_lines("2024-01-03", 1, invoice_prefix="8")[0] + "\n")

        return real(items, path_of, **{**kw, "settle_seconds": 30, "max_wait_seconds": 0.5, "sleep": sleep})

    monkeypatch.setattr(stability, "split_stable", growing_while_we_look)
    defs = build_defs(settings)
    job = dg.define_asset_job("ingest", selection="raw/transactions").resolve(asset_graph=defs.resolve_asset_graph())
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    (mat,) = [m for m in result.get_asset_materialization_events()]
    md = mat.event_specific_data.materialization.metadata
    assert md["files_still_being_written"].value == ["transactions/growing.csv"]
    assert md["files_loaded"].value == 1 and md["dagster/row_count"].value == 3
