"""The incremental daily facts: one day window, the same again, the next, a range, a full build.

Hand-made landing files with known rows per day, on a temporary warehouse; every step
asserts exact row counts (in total and per day) and that a rebuilt day keeps its keys.
"""

from __future__ import annotations

import datetime as dt
import re

import dagster as dg
import duckdb
import pytest

from tests.conftest import step_failures, use_environment
from tests.shop_files import EVENTS_HEADER, TRANSACTIONS_HEADER, event_lines, transaction_lines, write, write_dimensions

pytestmark = pytest.mark.integration

D1, D2 = "2024-01-02", "2024-01-03"
FACTS = [dg.AssetKey(["marts", "fct_order_lines"]), dg.AssetKey(["marts", "fct_events"])]
# kept by key (macros/keyed_window.sql): a state table, and a mart whose comment is its description
STATE = dg.AssetKey(["intermediate", "int_events__session_breakdowns"])
SESSIONS = dg.AssetKey(["marts", "fct_sessions"])
TOUCHED_SESSIONS = "session_id in (select session_id from"  # the state's unique test scoped to them


def _counts(settings) -> dict:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        lines = dict(
            con.execute(
                "SELECT CAST(invoice_day AS VARCHAR), count(*) FROM marts.fct_order_lines GROUP BY 1"
            ).fetchall()
        )
        events = dict(
            con.execute("SELECT CAST(event_day AS VARCHAR), count(*) FROM marts.fct_events GROUP BY 1").fetchall()
        )
        keys = sorted(r[0] for r in con.execute("SELECT order_line_key FROM marts.fct_order_lines").fetchall())
        known = con.execute("SELECT count(*) FROM marts.fct_events WHERE customer_key <> -1").fetchone()[0]
    return {"lines": lines, "events": events, "line_keys": keys, "events_with_customer": known}


def _run(defs, instance, selection, **kwargs):
    job = dg.define_asset_job("day_window_test", selection=selection).resolve(asset_graph=defs.resolve_asset_graph())
    tags = {"ecom/column_metadata": "off", **kwargs.pop("tags", {})}  # lineage metadata is not under test
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags=tags,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        **kwargs,
    )
    assert result.success, step_failures(result)
    return result


def _window(first: str, last: str) -> dict[str, str]:
    return {"ecom/window_start": first, "ecom/window_end": last}


def _dbt_commands(instance, result) -> list[str]:
    return [
        e.message
        for e in instance.all_logs(result.run_id)
        if e.message and "Running dbt command" in e.message and "dbt build" in e.message
    ]


def _compiled_tests(result, pattern: str) -> list[str]:
    """The SQL dbt ran for the tests named like ``pattern`` in the run's dbt invocation folder."""
    from ecom_platform.config import DBT_PROJECT_DIR

    paths = sorted((DBT_PROJECT_DIR / "target").glob(f"dbt_models-{result.run_id[:7]}-*/run/**/{pattern}.sql"))
    assert paths, f"no test {pattern} in run {result.run_id}"
    return [p.read_text() for p in paths]


def _state_unique_tests(result) -> list[str]:
    """The SQL of the state table's unique test (dbt names its file by a hash)."""
    return [sql for sql in _compiled_tests(result, "unique_combination_of_columns_*") if "session_breakdowns" in sql]


def test_one_day_window_the_same_again_the_next_a_range_and_a_full_build(tmp_path, monkeypatch, dbt_manifest):
    from ecom_platform.definitions import build_defs

    settings = use_environment(monkeypatch, tmp_path)
    landing = settings.landing_dir
    write_dimensions(landing)
    day1 = transaction_lines(D1, 3)
    # an exact duplicate line on day 1 is excluded from the fact (3 lines, not 4)
    write(landing, "transactions/2024-01.csv", TRANSACTIONS_HEADER, [*day1, day1[0], *transaction_lines(D2, 2)])
    write(landing, "events/2024-01.csv", EVENTS_HEADER, [*event_lines(D1, 4), *event_lines(D2, 5, user=12002)])
    defs = build_defs(settings)
    instance = dg.DagsterInstance.ephemeral()
    facts_and_upstream = dg.AssetSelection.assets(*FACTS, STATE, SESSIONS).upstream()

    # 1. day 1 (with everything upstream of the facts; the tables do not exist yet)
    first = _run(defs, instance, facts_and_upstream, tags=_window(D1, D1))
    c1 = _counts(settings)
    assert (c1["lines"], c1["events"]) == ({D1: 3}, {D1: 4})
    assert c1["events_with_customer"] == 4
    # one dbt build for the staging views, the dimensions and the facts
    assert len(_dbt_commands(instance, first)) == 1
    # the state was built whole (a first build): its unique test reads every row
    assert not any(TOUCHED_SESSIONS in sql for sql in _state_unique_tests(first))
    assert not any("in (select" in sql for sql in _compiled_tests(first, "unique_fct_sessions_user_session"))

    # 2. day 1 again: nothing changes, the same keys
    _run(defs, instance, facts_and_upstream, tags=_window(D1, D1))
    c2 = _counts(settings)
    assert c2 == c1

    # 3. day 2 (incremental: day 1 is kept as it was)
    third = _run(defs, instance, facts_and_upstream, tags=_window(D2, D2))
    # the state recomputed day 2's session only: its unique test reads that session's rows
    (scoped,) = _state_unique_tests(third)
    assert TOUCHED_SESSIONS in scoped and "last_day >= cast('2024-01-03' as date)" in scoped
    rows_read = re.search(r"from \((select \* from .*?)\) dbt_subquery", scoped, re.S).group(1)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        read = con.execute(f"SELECT count(*), count(DISTINCT session_id), min(last_day) FROM ({rows_read})").fetchone()
        every = con.execute("SELECT count(*) FROM intermediate.int_events__session_breakdowns").fetchone()[0]
        # fct_sessions (a mart) is marked too, in dbt_state: its unique test reads day 2's
        # session, and its table comment is still its description
        comment = con.execute(
            "SELECT comment FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'fct_sessions'"
        ).fetchone()[0]
    # day 2's one session of two (a row per breakdown value: overall, category, brand)
    assert read == (3, 1, dt.date(2024, 1, 3)) and every == 6
    assert comment.startswith("Grain: one session")
    (sessions_unique,) = _compiled_tests(third, "unique_fct_sessions_user_session")
    assert "user_session in (select user_session from" in sessions_unique
    assert "ended_at as date) >= cast('2024-01-03' as date)" in sessions_unique
    c3 = _counts(settings)
    assert (c3["lines"], c3["events"]) == ({D1: 3, D2: 2}, {D1: 4, D2: 5})
    assert set(c1["line_keys"]) < set(c3["line_keys"])
    assert c3["events_with_customer"] == 9

    # row counts on the materializations: the whole table for a table, none for a view
    def row_count(key):
        md = instance.get_latest_materialization_event(key).asset_materialization.metadata
        return md["dagster/row_count"].value if "dagster/row_count" in md else None

    assert [row_count(k) for k in FACTS] == [5, 9]
    assert row_count(dg.AssetKey(["staging", "stg_shop__events"])) is None

    # 4. rebuilding the range is ONE dbt invocation over both days, same result
    ranged = _run(defs, instance, dg.AssetSelection.assets(*FACTS), tags=_window(D1, D2))
    (command,) = _dbt_commands(instance, ranged)
    # the window travels in the environment, not as --vars (which would re-parse the project)
    assert "--vars" not in command and "--full-refresh" not in command
    messages = " ".join(e.message for e in instance.all_logs(ranged.run_id) if e.message)
    assert "day window 2024-01-02 .. 2024-01-04 (end exclusive)" in messages
    assert _counts(settings) == c3
    # the facts' row and unique tests read the window's rows; relationships every row, but
    # for fct_events' two keys kept in dbt_state (step 6)
    window = "event_day >= cast('2024-01-02' as date)"
    assert all(window in sql for sql in _compiled_tests(ranged, "unique_fct_events_event_key"))
    assert all(window in sql for sql in _compiled_tests(ranged, "not_null_columns_fct_events"))
    assert not any("invoice_day >=" in sql for sql in _compiled_tests(ranged, "relationships_fct_order_lines_*"))
    assert all("dbt_state" in sql for sql in _compiled_tests(ranged, "relationships_fct_events_*"))

    # 5. a run without a day window rebuilds the facts in full (--full-refresh): same rows
    full = _run(defs, instance, dg.AssetSelection.assets(*FACTS))
    (command,) = _dbt_commands(instance, full)
    assert "--full-refresh" in command
    assert _counts(settings) == c3
    assert not any("event_day >=" in sql for sql in _compiled_tests(full, "unique_fct_events_event_key"))

    # 6. a day window after the full build: the sessions' test scoped again, the same rows
    again = _run(defs, instance, dg.AssetSelection.assets(*FACTS, STATE), tags=_window(D2, D2))
    assert all(TOUCHED_SESSIONS in sql for sql in _state_unique_tests(again))
    assert _counts(settings) == c3

    # fct_events' customer and product keys: their relationships tests look up the window's
    # rows' keys and the kept ones (dbt_state), which stand for the older rows
    kept = [sql for sql in _compiled_tests(again, "relationships_fct_events_*") if "dbt_state" in sql]
    assert len(kept) == 2 and all("event_day >= cast('2024-01-03' as date)" in sql for sql in kept)
    (customer_test,) = [sql for sql in kept if "fct_events__customer_keys" in sql]
    # a day-1 customer's key gone from the dimension, in the events and the kept keys alike
    # (what the post-hook's repair would have mended): the test finds the user's events
    with duckdb.connect(str(settings.warehouse_path)) as con:
        (user,) = con.execute(
            "SELECT min(user_id) FROM marts.fct_events WHERE event_day = ? AND customer_key <> -1", [D1]
        ).fetchone()
        con.execute("UPDATE marts.fct_events SET customer_key = 424242 WHERE user_id = ?", [user])
        con.execute("UPDATE dbt_state.fct_events__customer_keys SET kept_key = 424242 WHERE id = ?", [user])
        (events,) = con.execute("SELECT count(*) FROM marts.fct_events WHERE user_id = ?", [user]).fetchone()
        failures = con.execute(customer_test).fetchone()[0]  # dbt's failure count
    assert failures == events > 0
