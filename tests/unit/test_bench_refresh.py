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
