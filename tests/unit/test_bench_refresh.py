from benchmarks.refresh import _day_of, hold_out_last_day
from tests.shop_files import EVENTS_HEADER, TRANSACTIONS_HEADER, event_lines, transaction_lines, write


def test_a_malformed_date_is_no_day():
    assert _day_of("2025-12-32 10:00:00") is None
    assert _day_of("2025-12-31 10:00:00 UTC") == "2025-12-31"
    assert _day_of("12/01/2010 08:26") == "2010-12-01"
    assert _day_of("not a date") is None


def test_the_held_out_day_is_the_last_real_day_in_both_sources(tmp_path):
    landing, holdout = tmp_path / "landing", tmp_path / "holdout"
    bad = "9,SKU999,Bad,1,2024-01-32 10:00:00,2.50,12001,United Kingdom"  # a generator quirk row
    write(
        landing,
        "transactions/2024-01.csv",
        TRANSACTIONS_HEADER,
        [*transaction_lines("2024-01-02", 2), *transaction_lines("2024-01-03", 3), bad],
    )
    write(landing, "events/2024-01.csv", EVENTS_HEADER, [*event_lines("2024-01-02", 4), *event_lines("2024-01-03", 5)])
    held = hold_out_last_day(landing, holdout)
    assert held["day"] == "2024-01-03"
    assert {s: f["rows"] for s, f in held["files"].items()} == {"transactions": 3, "events": 5}
    left = (landing / "transactions" / "2024-01.csv").read_text().splitlines()
    assert len(left) == 1 + 2 + 1  # header, day 2, and the bad row stays for ingestion to quarantine


def test_a_scale_s_summary_keeps_the_figures_the_issue_asks_for():
    from benchmarks.refresh import summary_entry

    result = {
        "full_rebuild_s": 291.0,
        "latency_from_tick_s": 18.4,
        "held_out_rows": {"transactions": 1685, "events": 10007},
        "overheads_refresh": {
            "fixed_s": 7.5,
            "dbt_steps": {"dbt_models": {"dbt_work_s": 6.25}, "dbt_incremental_models": {"dbt_work_s": None}},
        },
        "refresh_cpu_s": {"in_process": 4.5, "subprocesses": 21.25},
        "tables_updated": True,
    }
    entry = summary_entry(10.0, result)
    assert {k: v for k, v in entry.items() if k != "detail"} == {
        "scale": 10.0,
        "full_rebuild_s": 291.0,
        "new_day_s": 18.4,
        "fixed_s": 7.5,
        "new_rows": 11692,
        "dbt_work_s": 6.25,
        "new_day_cpu_s": 25.75,
        "tables_updated": True,
    }
    assert entry["detail"] is result
