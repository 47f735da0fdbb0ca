"""Run history retention: old finished runs are deleted only once everything they hold
(an asset's latest value, a check's latest result) has a newer one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from ecom_platform.defs.runs import Pruned, build_stale_run_janitor, prune_run_history

pytestmark = pytest.mark.component  # trains models / builds shops or Dagster runs: make test, not test-fast

PARTS = dg.StaticPartitionsDefinition(["x", "y", "z"])


@dg.asset(check_specs=[dg.AssetCheckSpec("a_ok", asset="a")])
def a():
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="a_ok", passed=True)


@dg.asset
def b():
    return None


@dg.asset
def c():
    return None


# an asset the code location once partitioned (the daily facts did, before the day window)
@dg.asset(partitions_def=PARTS)
def p():
    return dg.MaterializeResult()  # no output: its old and new forms share no stored file


@dg.asset(name="p")
def p_now():
    return dg.MaterializeResult()


def _run(instance, assets, partition=None) -> str:
    result = dg.materialize(assets, instance=instance, partition_key=partition)
    assert result.success
    return result.run_id


def _latest(instance) -> dict:
    out = {}
    for key in (a.key, b.key, c.key, p.key):
        (rec,) = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=1).records
        out[key.to_user_string()] = rec.storage_id
    check = dg.AssetCheckKey(a.key, "a_ok")
    out["a_ok"] = instance.event_log_storage.get_latest_asset_check_execution_by_key([check])[check].run_id
    return out


def test_only_runs_whose_every_value_has_a_newer_one_are_deleted(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        run1 = _run(instance, [a, b])  # a, a_ok, b
        run2 = _run(instance, [p], partition="x")  # p[x], when p was partitioned
        run3 = _run(instance, [a])  # a, a_ok again: run1's a is history
        run4 = _run(instance, [c])  # c, the only one
        run5 = _run(instance, [b])  # b again: run1 holds nothing latest now
        run6 = _run(instance, [p_now])  # p, no longer partitioned: run2's p[x] is history
        before = _latest(instance)
        later = datetime.now(UTC) + timedelta(days=31)

        assert prune_run_history(instance, keep_days=0, now=later) == Pruned()  # 0 keeps every run
        assert prune_run_history(instance, keep_days=30, now=datetime.now(UTC)) == Pruned()  # all young

        messages = []
        pruned = prune_run_history(instance, keep_days=30, now=later, log=messages.append)
        assert pruned.after is None  # every old run looked at
        names = {run1: "run1", run2: "run2", run3: "run3", run4: "run4", run5: "run5", run6: "run6"}
        assert sorted(names.get(r, r) for r in pruned.deleted) == ["run1", "run2"]
        assert pruned.kept == 4  # run3 (a, a_ok), run4 (c), run5 (b), run6 (p)
        assert instance.get_run_by_id(run1) is None and instance.get_run_by_id(run2) is None
        # nothing of a deleted run is left: its check executions, its event log file
        check = dg.AssetCheckKey(a.key, "a_ok")
        history = instance.event_log_storage.get_asset_check_execution_history(check, limit=10)
        assert [h.run_id for h in history] == [run3]
        assert not (tmp_path / "history" / "runs" / f"{run1}.db").exists()
        assert (tmp_path / "history" / "runs" / f"{run3}.db").exists()
        assert all(instance.get_run_by_id(r) is not None for r in (run3, run4, run5, run6))
        assert _latest(instance) == before  # what the UI and the automation read is unchanged
        assert messages == [
            "deleted 2 finished run(s) older than 30 days from the run history "
            "(ECOM_RUN_HISTORY_DAYS); 4 older run(s) kept: they hold an asset's or check's latest value"
        ]


def test_a_pass_out_of_time_resumes_after_the_last_run_it_kept(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        runs = [
            _run(instance, [b]),
            _run(instance, [c]),
            _run(instance, [b]),
            _run(instance, [p], partition="y"),
            _run(instance, [b]),
        ]
        later = datetime.now(UTC) + timedelta(days=31)
        deleted, kept, after, passes = [], 0, None, 0
        while True:  # no time at all: one run per pass
            pruned = prune_run_history(instance, keep_days=30, now=later, after=after, budget_seconds=0)
            deleted += pruned.deleted
            kept += pruned.kept
            after = pruned.after
            passes += 1
            if after is None:
                break
        # b's first two runs are history; c, p (its one partition) and b's last run hold the latest values
        assert deleted == [runs[0], runs[2]] and kept == 3
        assert passes == 6  # five runs, one each, then a pass that finds no more


def test_the_janitor_prunes_at_most_once_an_hour(tmp_path):
    janitor = build_stale_run_janitor(run_history_days=0.0)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        _run(instance, [b])
        with dg.build_sensor_context(instance=instance) as ctx:
            result = janitor.evaluate_tick(ctx)
        assert result.skip_message == "no run whose process is gone"
        first = json.loads(result.cursor)
        assert first["after"] is None and first["at"] > 0  # the pass finished
        with dg.build_sensor_context(instance=instance, cursor=result.cursor) as ctx:
            again = janitor.evaluate_tick(ctx)
        assert json.loads(again.cursor) == first  # within the hour: no second pass, cursor kept
