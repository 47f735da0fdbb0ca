"""The instance's event log storage (ecom_platform/event_log.py): Dagster's SQLite files, one engine per file."""

import inspect
import shutil

import dagster as dg
import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from ecom_platform import event_log
from ecom_platform.cli import DAGSTER_YAML

N_CHECKS = 30


def _materialize_with_checks(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    specs = [dg.AssetCheckSpec(f"c{i}", asset="a") for i in range(N_CHECKS)]

    @dg.asset(check_specs=specs)
    def a():
        yield dg.Output(1)
        for i in range(N_CHECKS):
            yield dg.AssetCheckResult(check_name=f"c{i}", passed=i % 2 == 0)

    return dg.materialize([a], instance=instance)


def test_the_project_instance_stores_runs_in_dagsters_files_with_an_engine_per_file(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(DAGSTER_YAML, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    created = []
    real_create_engine = db.create_engine
    monkeypatch.setattr(
        event_log.db, "create_engine", lambda *a, **k: created.append(a[0]) or real_create_engine(*a, **k)
    )

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage) is event_log.EventLogStorage
        result = _materialize_with_checks(instance)
        assert result.success
        # one engine for the run's file and one for the index, whatever the number of events
        assert sorted(created) == sorted({*created}) and len(created) == 2
        created.clear()
        evaluations = result.get_asset_check_evaluations()
        assert sum(e.passed for e in evaluations) == N_CHECKS // 2
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("a"), "c1")]
        )
        assert latest[dg.AssetCheckKey(dg.AssetKey("a"), "c1")].run_id == result.run_id
        # the connections this process keeps open do not hide a thing from another reader
        # (Dagster's own storage here, as the UI or the daemon would read the files)
        other = SqliteEventLogStorage(str(home / "history" / "runs"))
        assert len(other.get_logs_for_run(result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)) == (
            N_CHECKS
        )
        second = _materialize_with_checks(instance)  # written while `other` has read the file
        assert len(other.get_logs_for_run(second.run_id)) == len(instance.all_logs(second.run_id))
        other.dispose()
        # the kept connection syncs the log at checkpoints, not at every commit
        with instance.event_log_storage.run_connection(result.run_id) as conn:
            assert conn.execute(db.text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert conn.execute(db.text("PRAGMA journal_mode")).scalar() == "wal"
        # the run history's janitor deletes a run whose file this process holds open
        from ecom_platform.defs.runs import _delete_run

        _delete_run(instance, second.run_id)
        assert not list((home / "history" / "runs").glob(f"{second.run_id}.db*"))
        assert instance.get_run_by_id(second.run_id) is None
        assert _materialize_with_checks(instance).success  # and the storage goes on

    # Dagster's default layout: another instance with Dagster's own storage reads the same run
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)) as plain:
        assert type(plain.event_log_storage) is SqliteEventLogStorage
        assert (home / "history" / "runs" / f"{result.run_id}.db").exists()
        assert plain.get_run_by_id(result.run_id) is not None
        assert len(plain.all_logs(result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)) == N_CHECKS


def test_the_overridden_connect_is_still_how_dagster_opens_its_files():
    # every read and write goes through these two, and both through _connect
    assert "self._connect(" in inspect.getsource(SqliteEventLogStorage.run_connection)
    assert "self._connect(" in inspect.getsource(SqliteEventLogStorage.index_connection)
    # the engine is set up as Dagster does it: its files initialised once per process
    assert "self._initialized_dbs" in inspect.getsource(SqliteEventLogStorage.__init__)
    assert "self._initdb(engine)" in inspect.getsource(SqliteEventLogStorage._connect)
