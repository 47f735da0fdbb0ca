"""The benchmark's ratios and target verdicts, from a result shaped like bench_scale's."""

from benchmarks.bench import ratios, summary_markdown, targets

MACHINE = {
    "cpus": 2,
    "cpu": "test",
    "memory_gb": 24,
    "os": "Linux",
    "python": "3.11",
    "duckdb": "2.0.0",
    "dagster": "1.13",
    "pandas": "3",
    "load_average_at_start": [0, 0, 0],
}


def _result(wall_s, peak_mb, ours_sql_s, ours_path_s, floor_s, pandas_s, floor_rc=0):
    r = {
        "scale": 50,
        "seed": 42,
        "started": "now",
        "data": {"order_lines": 48_000_000},
        "pipeline": {
            "wall_s": wall_s,
            "peak_rss_tree_mb": peak_mb,
            "status": "SUCCESS",
            "steps_s": {"ml": 240.0},
            "summary": {"ours_sql_s": ours_sql_s, "ours_path_s": ours_path_s},
        },
        "refs": {
            "floor": {"returncode": floor_rc, "compute_s": floor_s, "peak_rss_tree_mb": 5000},
            "pandas": {"returncode": 0, "compute_s": pandas_s, "peak_rss_tree_mb": 9000},
        },
    }
    r["ratios"] = ratios(r)
    return r


def test_ratios_and_both_readings_of_the_floor_target():
    r = _result(wall_s=1150.0, peak_mb=5300, ours_sql_s=900.0, ours_path_s=250.0, floor_s=100.0, pandas_s=450.0)
    assert r["ratios"] == {"ours_sql_over_floor": 9.0, "ours_path_over_floor": 2.5, "pandas_over_ours_sql": 0.5}
    v = targets(r)
    assert v["end to end < 20 min"] == (True, "19.2 min")
    assert v["peak < 8 GB"] == (True, "5.18 GB")
    assert v["SQL ≤ 3× floor, like for like"] == (True, "2.50×")
    assert v["SQL ≤ 3× floor, all of ingestion + dbt"] == (False, "9.00×")
    md = summary_markdown([r], MACHINE, "stamp")
    assert "SQL ≤ 3× floor, like for like met (2.50×)" in md
    assert "SQL ≤ 3× floor, all of ingestion + dbt MISSED (9.00×)" in md


def test_a_failed_floor_gives_no_ratio_and_no_floor_verdict():
    r = _result(
        wall_s=1300.0, peak_mb=9000, ours_sql_s=900.0, ours_path_s=250.0, floor_s=None, pandas_s=450.0, floor_rc=1
    )
    assert r["ratios"]["ours_sql_over_floor"] is None and r["ratios"]["ours_path_over_floor"] is None
    v = targets(r)
    assert v["end to end < 20 min"] == (False, "21.7 min") and v["peak < 8 GB"][0] is False
    assert not any(k.startswith("SQL") for k in v)
