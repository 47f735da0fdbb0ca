"""`make bench` across engines (benchmarks/engines.py) and how its memory monitor counts the JVM,
from fabricated pipeline results and process facts: no run, no timing."""

import argparse
import json
from types import SimpleNamespace

import pytest

from benchmarks import engines
from benchmarks.bench import scale_markdown, summarise_pipeline, summary_markdown

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


def _step(step, category, seconds):
    return {"step": step, "category": category, "status": "SUCCESS", "seconds": seconds, "start_offset_s": 0}


def _run(wall, ingestion, dbt_steps, ml, publish, peak, *, java_mb=None, javas=0, exec_s=None, nodes=None):
    steps = [_step("raw__transactions", "ingestion", ingestion)]
    steps += [_step(name, "dbt", secs) for name, secs in dbt_steps.items()]
    steps += [_step("train_churn", "ml", ml), _step("bi_copy__publish", "publish", publish)]
    run = {
        "returncode": 0,
        "status": "SUCCESS",
        "wall_s": wall,
        "run_seconds": wall - 5,
        "steps": steps,
        "dbt_node_seconds": {"marts/a": exec_s} if exec_s is not None else {},
        "peak_rss_tree_mb": peak,
        "peak_rss_max_process_mb": peak / 2,
        "peak_rss_by_command_mb": {"python": peak / 2, **({"java": java_mb} if java_mb else {})},
        "processes_by_command": {"python": 1, **({"java": javas} if javas else {})},
        "facts": {"warehouse": "/nowhere/warehouse.duckdb"},
    }
    run["summary"] = summarise_pipeline(run, {})
    run["dbt_invocations"] = {
        "invocations": {},
        "total": {
            "invocations": len(dbt_steps),
            "startup_s": 2.0 * len(dbt_steps),
            "elapsed_s": None,
            "nodes": nodes or {},
        },
    }
    return run


def _runs():
    duck = _run(
        100.0,
        20.0,
        {"dbt_models": 30.0, "dbt_incremental_models": 10.0},
        30.0,
        1.0,
        1500.0,
        exec_s=12.0,
        nodes={"models": {"count": 51, "sum_s": 12.0, "median_s": 0.17}, "tests": _stats(348, 14.0, 0.04)},
    )
    spark = _run(
        400.0,
        22.0,
        {"dbt_models": 250.0, "dbt_incremental_models": 70.0},
        33.0,
        1.0,
        6000.0,
        java_mb=4200.0,
        javas=2,
        exec_s=95.0,
        nodes={
            "hooks": _stats(2, 16.0, 8.0),
            "models": _stats(47, 90.0, 1.3),
            "seeds": _stats(4, 5.0, 1.0),
            "tests": _stats(348, 174.0, 0.5),
            "unit tests": _stats(14, 28.0, 2.0),
        },
    )
    spark["spark_memory"] = "4g"
    return {"duckdb": duck, "spark": spark}


def _stats(count, sum_s, median_s):
    return {"count": count, "sum_s": sum_s, "median_s": median_s}


def _section(runs=None, parity=None):
    runs = runs or _runs()
    per = {n: engines.figures(r) for n, r in runs.items()}
    sec = {"names": list(runs), "baseline": "duckdb", "per_engine": per, "ratios": engines.ratios(per, "duckdb")}
    if parity is not None:
        sec["parity"] = parity
    return sec


def _row(rows, label):
    return next(r for r in rows if r[0] == label)


def test_parse_engines_keeps_order_drops_duplicates_and_refuses_unknown_names():
    assert engines.parse_engines("duckdb") == ["duckdb"]
    assert engines.parse_engines(" Spark, duckdb,spark ") == ["spark", "duckdb"]
    with pytest.raises(argparse.ArgumentTypeError, match="postgres"):
        engines.parse_engines("duckdb,postgres")
    with pytest.raises(argparse.ArgumentTypeError):
        engines.parse_engines(",")


def test_each_engine_gets_its_own_data_folder_and_the_shared_landing_folder(tmp_path):
    seen = []

    def fake_pipeline(data, env, logs, label):
        seen.append((data, env, logs, label))
        return {"run_id": None, "wall_s": 1.0}

    base = {"ECOM_DATA_DIR": "x", "ECOM_LANDING": "y", "DAGSTER_HOME": "z", "KEEP": "1", "ECOM_SPARK_MEMORY": "6g"}
    runs = engines.run_engines(["duckdb", "spark"], tmp_path, base, fake_pipeline)
    (d_data, d_env, d_logs, d_label), (s_data, s_env, s_logs, s_label) = seen
    assert d_data == tmp_path / "data" and d_logs == tmp_path / "logs" and d_label == "pipeline (duckdb)"
    assert s_data == tmp_path / "engine-spark" / "data" and s_logs == tmp_path / "logs" / "spark"
    assert d_env["ECOM_ENGINE"] == "duckdb" and s_env["ECOM_ENGINE"] == "spark"
    assert d_env["ECOM_LANDING"] == s_env["ECOM_LANDING"] == str(tmp_path / "data" / "landing")
    assert s_env["ECOM_DATA_DIR"] == str(s_data) and s_env["DAGSTER_HOME"] == str(s_data / "dagster_home")
    assert s_env["KEEP"] == "1" and base["ECOM_DATA_DIR"] == "x"  # the caller's dict is left alone
    assert runs["spark"]["spark_memory"] == "6g" and "spark_memory" not in runs["duckdb"]
    # a single default engine keeps the bench's own label and folders
    seen.clear()
    engines.run_engines(["duckdb"], tmp_path, base, fake_pipeline)
    assert seen[0][0] == tmp_path / "data" and seen[0][3] == "pipeline"


def test_stage_table_rows_and_ratios_from_step_stats():
    sec = _section()
    rows = engines.stage_rows(sec)
    assert _row(rows, "pipeline end to end (landing → BI copy), process wall")[1:] == ["100.0", "400.0", "4.00×"]
    assert _row(rows, "  of which the Dagster run")[1:] == ["95.0", "395.0", "4.16×"]
    assert _row(rows, "  ingestion")[1:] == ["20.0", "22.0", "1.10×"]
    assert _row(rows, "  dbt build (models + tests)")[1:] == ["40.0", "320.0", "8.00×"]
    assert _row(rows, "    step dbt_models")[1:] == ["30.0", "250.0", "8.33×"]
    assert _row(rows, "    step dbt_incremental_models")[1:] == ["10.0", "70.0", "7.00×"]
    assert _row(rows, "    dbt start-up before the first node (Spark: its JVM)")[1:] == ["4.0", "4.0", "1.00×"]
    assert _row(rows, "    models and seeds executing (dbt's timing)")[1:] == ["12.0", "95.0", "7.92×"]
    assert _row(rows, "    data tests executing (dbt's timing)")[1:] == ["14.0", "174.0", "12.43×"]
    # a figure one engine lacks is a dash and no ratio
    assert _row(rows, "    on-run-start hook (Spark: the raw tables declared)")[1:] == ["—", "16.0", "—"]
    assert _row(rows, "    unit tests executing (dbt's timing)")[1:] == ["—", "28.0", "—"]
    # the rest of the dbt steps: 40 - 4 - 12 - 14 and 320 - 4 - 16 - 95 - 174 - 28
    rest = "    the rest: dbt and Dagster around the nodes (Spark: raw Parquet, tables back to DuckDB)"
    assert _row(rows, rest)[1:] == ["10.0", "3.0", "0.30×"]
    assert _row(rows, "  ML")[1:] == ["30.0", "33.0", "1.10×"]
    assert _row(rows, "  publish (BI copy + dashboard)")[1:] == ["1.0", "1.0", "1.00×"]
    assert sec["ratios"]["spark/duckdb"]["end_to_end"] == 4.0
    assert sec["ratios"]["spark/duckdb"]["dbt"] == 8.0
    assert sec["ratios"]["spark/duckdb"]["peak_rss_tree"] == 4.0


def test_memory_rows_count_the_jvm():
    rows = engines.other_rows(_section())
    assert _row(rows, "peak RSS, pipeline process tree (MB)")[1:] == ["1,500", "6,000", "4.00×"]
    assert _row(rows, "  of which the JVM, peak (MB)")[1:] == ["—", "4,200", "—"]
    assert _row(rows, "data tests executed")[1:] == ["348", "348", "1.00×"]
    assert _row(rows, "  median seconds per data test")[1:] == ["0.04", "0.50", "12.50×"]
    assert _row(rows, "dbt invocations found")[1:] == ["2", "2", "1.00×"]


def test_without_dbt_results_the_models_come_from_the_event_log_and_nothing_is_left_over():
    parts = engines.dbt_parts(40.0, {"invocations": 0, "startup_s": None, "nodes": {}}, 12.0)
    assert parts == {
        "startup": None,
        "hooks": None,
        "models_and_seeds": 12.0,
        "tests": None,
        "unit_tests": None,
        "rest": None,
    }


def test_a_child_between_fork_and_exec_is_not_counted_twice(monkeypatch):
    from benchmarks import bench

    monkeypatch.setattr(bench, "_thread_names", lambda pid: {"java", "Thread-36", "Executor task"})
    jvm = (10, "java", "/usr/lib/jvm/bin/java")
    assert bench._spawning("Thread-36", "/usr/lib/jvm/bin/java", jvm) is True
    # the program it became, and the JVM itself: counted
    assert bench._spawning("chmod", "/usr/bin/chmod", jvm) is False
    assert bench._spawning("java", "/usr/lib/jvm/bin/java", jvm) is False
    monkeypatch.setattr(bench, "_thread_names", lambda pid: {"python"})
    python = (5, "python", "/usr/bin/python3.11")
    # dbt is a script run by the same interpreter under its own name; no parent: the child itself
    assert bench._spawning("dbt", "/usr/bin/python3.11", python) is False
    assert bench._spawning("python", "/usr/bin/python3.11", None) is False


def _parity_result(schema, name, equal, text):
    return SimpleNamespace(schema=schema, name=name, equal=equal, describe=lambda: text)


def test_markdown_has_the_side_by_side_header_and_the_parity_verdict():
    results = [
        _parity_result("marts", "kpi_sales_daily", True, "equal"),
        _parity_result("bi", "data_sources", False, "bi.data_sources: 4 row(s) only left, 4 only right"),
        _parity_result("marts", "customer_rfm", False, "marts.customer_rfm: 2 row(s) only left, 2 only right"),
    ]
    parity = engines.parity_summary(results, seconds=3.14, load_times_only=["bi.data_sources"])
    assert parity == {
        "tables": 3,
        "equal": 1,
        "equal_tables": ["marts.kpi_sales_daily"],
        "different": {
            "bi.data_sources": "bi.data_sources: 4 row(s) only left, 4 only right",
            "marts.customer_rfm": "marts.customer_rfm: 2 row(s) only left, 2 only right",
        },
        "equal_but_load_times": {"bi.data_sources": ["last_loaded_at"]},
        "real_differences": ["marts.customer_rfm"],
        "seconds": 3.1,
    }
    r = {"scale": 1, "engines": _section(parity={"left": "duckdb", "right": "spark", **parity})}
    md = engines.markdown(r)
    assert "| stage | duckdb s | spark s | spark/duckdb |" in md
    assert "| measure | duckdb | spark | spark/duckdb |" in md
    assert "| pipeline end to end (landing → BI copy), process wall | 100.0 | 400.0 | 4.00× |" in md
    assert "**1 of 3 tables equal**" in md
    assert "- bi.data_sources: equal apart from last_loaded_at (when each engine's own ingestion" in md
    assert "- marts.customer_rfm: 2 row(s) only left, 2 only right" in md
    assert "Spark driver memory 4g" in md
    assert engines.parity_ok([r]) is False
    # a table that differs only in its load times is no failure
    only_load_times = engines.parity_summary(results[:2], load_times_only=["bi.data_sources"])
    r["engines"]["parity"] = {"left": "duckdb", "right": "spark", **only_load_times}
    assert engines.parity_ok([r]) is True
    r["engines"]["parity"] = {"left": "duckdb", "right": "spark", "error": "the right warehouse does not exist"}
    assert engines.parity_ok([r]) is False
    assert "not compared: the right warehouse does not exist" in engines.markdown(r)


def test_equal_without_leaves_the_named_columns_out(tmp_path):
    import duckdb

    for side, when in (("l", "2026-01-01 10:00:00"), ("r", "2026-01-01 10:05:00")):
        con = duckdb.connect(str(tmp_path / f"{side}.duckdb"))
        con.execute("CREATE SCHEMA bi")
        con.execute(f"CREATE TABLE bi.data_sources AS SELECT 'events' AS source, 24 AS files, TIMESTAMP '{when}' AS t")
        con.close()
    left, right = tmp_path / "l.duckdb", tmp_path / "r.duckdb"
    assert engines.equal_without(left, right, "bi.data_sources", ["t"]) is True
    assert engines.equal_without(left, right, "bi.data_sources", ["files"]) is False


def test_scale_and_summary_markdown_add_the_engines_only_when_there_are_several():
    base = {"scale": 1, "seed": 42, "started": "now", "pipeline": {}}
    assert "Engines side by side" not in scale_markdown(base, MACHINE)
    assert "Engines side by side" not in summary_markdown([base], MACHINE, "stamp")
    with_engines = {**base, "engines": _section()}
    assert "#### Engines side by side, scale 1" in scale_markdown(with_engines, MACHINE)
    assert "| stage | duckdb s | spark s | spark/duckdb |" in summary_markdown([with_engines], MACHINE, "stamp")


def test_dbt_invocations_read_the_runs_target_folders(tmp_path):
    def results(started, nodes):
        return {
            "metadata": {"invocation_started_at": started},
            "elapsed_time": 50.0,
            "results": [
                {
                    "unique_id": uid,
                    "execution_time": secs,
                    "timing": [{"started_at": at, "completed_at": at}],
                }
                for uid, secs, at in nodes
            ],
        }

    first = tmp_path / "dbt_models-abcdef1-1111111"
    other_run = tmp_path / "dbt_models-9999999-2222222"
    for folder in (first, other_run):
        folder.mkdir()
    (first / "run_results.json").write_text(
        json.dumps(
            results(
                "2026-01-01T00:00:00Z",
                [
                    ("operation.p.on-run-start-0", 3.0, "2026-01-01T00:00:12.5Z"),
                    ("model.p.a", 2.0, "2026-01-01T00:00:16Z"),
                    ("test.p.t1", 0.4, "2026-01-01T00:00:18Z"),
                    ("test.p.t2", 0.6, "2026-01-01T00:00:19Z"),
                    ("test.p.t3", 1.0, "2026-01-01T00:00:20Z"),
                ],
            )
        )
    )
    (other_run / "run_results.json").write_text(json.dumps(results("2026-01-01T00:00:00Z", [])))
    out = engines.dbt_invocations("abcdef1-rest-of-the-run-id", tmp_path)
    assert list(out["invocations"]) == [first.name]
    total = out["total"]
    assert total["invocations"] == 1 and total["startup_s"] == 12.5 and total["elapsed_s"] == 50.0
    assert total["nodes"]["tests"] == {"count": 3, "sum_s": 2.0, "median_s": 0.6}
    assert total["nodes"]["models"] == {"count": 1, "sum_s": 2.0, "median_s": 2.0}
    assert total["nodes"]["hooks"]["count"] == 1
    assert engines.dbt_invocations(None, tmp_path)["total"]["invocations"] == 0
