"""Run history retention: old finished runs are deleted only once everything they hold
(an asset's or a partition's latest value, a check's latest result) has a newer one."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

import ecom_platform.defs.runs as runs_module
from ecom_platform.contract import HISTORY_TAG
from ecom_platform.defs.dbt import EAGER_ON_INPUTS
from ecom_platform.defs.runs import (
    HISTORY_JOB,
    Pruned,
    build_stale_run_janitor,
    history_run_config,
    keep_partition_history_job,
    prune_run_history,
)

pytestmark = pytest.mark.component  # trains models / builds shops or Dagster runs: make test, not test-fast

PARTS = dg.StaticPartitionsDefinition(["x", "y", "z"])


@dg.asset(check_specs=[dg.AssetCheckSpec("a_ok", asset="a")])
def a():
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="a_ok", passed=True)


@dg.asset
def b():
    return None


@dg.asset(partitions_def=PARTS)
def p():
    return None


def _run(instance, assets, partition=None) -> str:
    result = dg.materialize(assets, instance=instance, partition_key=partition)
    assert result.success
    return result.run_id


def _latest(instance) -> dict:
    out = {}
    for key, part in ((a.key, None), (b.key, None), (p.key, "x"), (p.key, "y")):
        (rec,) = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[part] if part else None), limit=1
        ).records
        out[(key.to_user_string(), part)] = rec.storage_id
    check = dg.AssetCheckKey(a.key, "a_ok")
    out["a_ok"] = instance.event_log_storage.get_latest_asset_check_execution_by_key([check])[check].run_id
    return out


def test_only_runs_whose_every_value_has_a_newer_one_are_deleted(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        run1 = _run(instance, [a, b])  # a, a_ok, b
        run2 = _run(instance, [p], partition="x")  # p[x]
        run3 = _run(instance, [a])  # a, a_ok again: run1's a is history
        run4 = _run(instance, [p], partition="y")  # p[y], the only one
        run5 = _run(instance, [b])  # b again: run1 holds nothing latest now
        run6 = _run(instance, [p], partition="x")  # p[x] again: run2 holds nothing latest
        before = _latest(instance)
        later = datetime.now(UTC) + timedelta(days=31)

        assert prune_run_history(instance, keep_days=0, now=later) == Pruned()  # 0 keeps every run
        assert prune_run_history(instance, keep_days=30, now=datetime.now(UTC)) == Pruned()  # all young

        messages = []
        pruned = prune_run_history(instance, keep_days=30, now=later, log=messages.append)
        assert pruned.after is None  # every old run looked at
        names = {run1: "run1", run2: "run2", run3: "run3", run4: "run4", run5: "run5", run6: "run6"}
        assert sorted(names.get(r, r) for r in pruned.deleted) == ["run1", "run2"]
        assert pruned.kept == 4  # run3 (a, a_ok), run4 (p[y]), run5 (b), run6 (p[x])
        # run4 holds nothing but a partition's latest materialization (run6 is p's last run)
        assert [(names[i["run"]], i["asset"], i["partition"]) for i in pruned.history] == [("run4", ["p"], "y")]
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
            "(ECOM_RUN_HISTORY_DAYS); 3 older run(s) kept: they hold an asset's or check's latest "
            "value; 1 kept for now: they hold only partitions' latest materializations, recorded "
            "anew by a keep_partition_history run, and go on the next pass"
        ]


def test_a_pass_out_of_time_resumes_after_the_last_run_it_kept(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        runs = [
            _run(instance, [b]),
            _run(instance, [p], partition="x"),
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
        # b's first two runs are history; p[x], p[y] and b's last run hold the latest values
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


def _young_after(instance, assets, partition=None) -> datetime:
    """A moment between the runs so far and a run of ``assets`` started now."""
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    _run(instance, assets, partition)
    return moment


def _record_history(instance, pruned: Pruned) -> str:
    result = keep_partition_history_job.execute_in_process(
        instance=instance,
        tags={HISTORY_TAG: "1"},
        run_config=history_run_config(pruned.history),
    )
    assert result.success
    return result.run_id


def _partition_record(instance, part):
    (rec,) = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=p.key, asset_partitions=[part]), limit=1
    ).records
    return rec


def test_a_run_that_holds_only_partitions_goes_once_their_history_is_recorded(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        run_x = _run(instance, [p], partition="x")
        run_y = _run(instance, [p], partition="y")
        stamp = {
            part: datetime.fromtimestamp(_partition_record(instance, part).timestamp, UTC).isoformat(timespec="seconds")
            for part in ("x", "y")
        }
        later = _young_after(instance, [b]) + timedelta(days=30)  # run_x, run_y old; b's and p's last run young
        run_z = _run(instance, [p], partition="z")
        first = prune_run_history(instance, keep_days=30, now=later)
        assert first.deleted == [] and first.kept == 2
        assert sorted((i["partition"], i["run"], i["held_by"], i["at"]) for i in first.history) == [
            ("x", run_x, run_x, stamp["x"]),
            ("y", run_y, run_y, stamp["y"]),
        ]

        history_run = _record_history(instance, first)
        second = prune_run_history(instance, keep_days=30, now=later)
        assert sorted(second.deleted) == sorted([run_x, run_y])
        assert second.kept == 0 and second.history == []
        for part, run in (("x", run_x), ("y", run_y)):
            rec = _partition_record(instance, part)
            assert rec.run_id == history_run
            meta = rec.asset_materialization.metadata
            assert (meta["materialized_by_run"].value, meta["materialized_at"].value) == (run, stamp[part])
        assert instance.get_materialized_partitions(p.key) == {"x", "y", "z"}

        # once old itself, a history run is merged into the next one with the newer partitions,
        # still naming the runs that materialized them
        much_later = datetime.now(UTC) + timedelta(days=31)
        third = prune_run_history(instance, keep_days=30, now=much_later)
        assert third.deleted == [] and third.kept == 3  # with b's last run
        assert sorted((i["partition"], i["run"], i["held_by"]) for i in third.history) == [
            ("x", run_x, history_run),
            ("y", run_y, history_run),
            ("z", run_z, run_z),
        ]
        merged = _record_history(instance, third)
        fourth = prune_run_history(instance, keep_days=30, now=much_later)
        assert sorted(fourth.deleted) == sorted([history_run, run_z])
        for part, run in (("x", run_x), ("y", run_y), ("z", run_z)):
            rec = _partition_record(instance, part)
            assert rec.run_id == merged and rec.asset_materialization.metadata["materialized_by_run"].value == run
        assert _partition_record(instance, "x").asset_materialization.metadata["materialized_at"].value == stamp["x"]


def test_the_janitor_requests_the_history_run_once(tmp_path, monkeypatch):
    janitor = build_stale_run_janitor(run_history_days=30.0)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        run_x = _run(instance, [p], partition="x")
        later = _young_after(instance, [p], "z") + timedelta(days=30)
        real = runs_module.datetime

        class _Later(real):
            @classmethod
            def now(cls, tz=None):
                return later

        monkeypatch.setattr(runs_module, "datetime", _Later)
        with dg.build_sensor_context(instance=instance) as ctx:
            result = janitor.evaluate_tick(ctx)
        (request,) = result.run_requests
        assert request.job_name == HISTORY_JOB and request.run_key.startswith("history-")
        items = json.loads(request.run_config["ops"]["record_partition_history"]["config"]["items_json"])
        assert [(i["asset"], i["partition"], i["run"]) for i in items] == [(["p"], "x", run_x)]

        _record_history(instance, runs_module.Pruned(history=items))
        with dg.build_sensor_context(instance=instance) as ctx:
            result = janitor.evaluate_tick(ctx)  # the next pass: the old run goes, nothing to record
        assert result.run_requests == [] and instance.get_run_by_id(run_x) is None


@dg.asset(deps=[p], automation_condition=EAGER_ON_INPUTS)
def downstream():
    return None


# the same without the history exclusion: what a recorded history would do to the marts
@dg.asset(
    deps=[p], automation_condition=dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
)
def downstream_stock():
    return None


def _requested(defs, instance, cursor):
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    asked = {key.path[0] for key in (downstream.key, downstream_stock.key) if result.get_requested_partitions(key)}
    return asked, result.cursor


def test_recorded_history_does_not_rebuild_the_eager_models(tmp_path):
    defs = dg.Definitions(assets=[p, downstream, downstream_stock], jobs=[keep_partition_history_job])
    both = [downstream, downstream_stock]
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        _run(instance, [p], partition="x")
        _run(instance, both)
        requested, cursor = _requested(defs, instance, None)
        assert requested == set()  # nothing new since they ran
        _run(instance, [p], partition="y")  # a real update of an input
        requested, cursor = _requested(defs, instance, cursor)
        assert requested == {"downstream", "downstream_stock"}
        later = _young_after(instance, both) + timedelta(days=30)
        _run(instance, [p], partition="z")  # p's last run, young
        _run(instance, both)
        requested, cursor = _requested(defs, instance, cursor)
        assert requested == set()
        pruned = prune_run_history(instance, keep_days=30, now=later)
        assert {i["partition"] for i in pruned.history} == {"x", "y"}
        _record_history(instance, pruned)  # history recorded anew: no rebuild
        requested, cursor = _requested(defs, instance, cursor)
        assert requested == {"downstream_stock"}
