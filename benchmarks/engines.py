"""``make bench`` across engines: the pipeline stage once per dbt engine, reported side by side.

    python -m benchmarks.bench --scales 1,10 --engines duckdb,spark

For each scale the landing folder is generated once; then :func:`run_engines` runs the
pipeline child (``cli prepare`` + ``cli materialize``) once per engine with
``ECOM_ENGINE=<engine>``. The first engine uses the scale's own data folder
(``<work>/scale<S>/data``, as a single-engine bench does), every other engine its own
``<work>/scale<S>/engine-<name>/data`` (warehouse, Spark folder, Dagster home), all reading
the one landing folder (``ECOM_LANDING``), which ingestion only reads. So no state is shared
and the landing files' paths, which the lineage columns carry, are the same.

:func:`section` turns the runs into the scale's ``engines`` section: per engine the stage
seconds (from the run's event log, :func:`benchmarks.bench.run_steps`), each dbt step, what
dbt itself reports per invocation (``run_results.json`` of the run's dbt target folders:
nodes per kind, their summed and median execution time, the start-up before the first
node, where the Spark engine starts its JVM), peak memory (the process tree, which counts
the JVM: it is a child of the dbt process) and, when both engines ran,
``devtools.engine_parity.compare`` of their marts and bi tables (a table that differs is
compared again without its load-time columns, :data:`LOAD_TIME_COLUMNS`: each engine's run
ingested the files at its own time). :func:`markdown` renders
it as the "stage | duckdb s | spark s | spark/duckdb" table. No environment is read here:
the engine's settings come from the child environment the bench builds.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from ecom_platform.config import DBT_PROJECT_DIR
from ecom_platform.contract import SPARK_MEMORY_DEFAULT
from ecom_platform.lib.engine import ENGINES

DEFAULT = "duckdb"
STAGES = ("ingestion", "dbt", "ml", "publish", "other")
# Columns that record when a pipeline's own ingestion loaded the files: each engine's run
# ingests the landing folder itself, so these differ between the engines by construction.
LOAD_TIME_COLUMNS = {"bi.data_sources": ("last_loaded_at",)}
# what a dbt result's unique_id starts with -> the kind reported
NODE_KINDS = {"model": "models", "seed": "seeds", "test": "tests", "unit_test": "unit tests", "operation": "hooks"}


# ------------------------------------------------------------------------- options and running


def parse_engines(text: str) -> list[str]:
    """``"duckdb,spark"`` -> ``["duckdb", "spark"]`` (order kept, duplicates dropped)."""
    out: list[str] = []
    for part in text.split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name not in ENGINES:
            raise argparse.ArgumentTypeError(f"engine {name!r}: expected one of {', '.join(ENGINES)}")
        if name not in out:
            out.append(name)
    if not out:
        raise argparse.ArgumentTypeError("no engine given")
    return out


def unavailable(engine: str) -> str | None:
    """Why ``engine`` cannot run on this machine, or None."""
    if engine != "spark":
        return None
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        return "the spark extra is not installed (pip install -e '.[spark]', as `make test` does)"
    if shutil.which("java") is None:
        return "no Java on PATH (local Spark needs Java 17 or newer)"
    return None


def engine_env(env: dict, engine: str, data: Path, landing: Path) -> dict:
    """The pipeline child's environment for ``engine``: its own data folder, the shared landing folder."""
    return {
        **env,
        "ECOM_ENGINE": engine,
        "ECOM_DATA_DIR": str(data),
        "ECOM_LANDING": str(landing),
        "DAGSTER_HOME": str(data / "dagster_home"),
    }


def run_engines(
    names: list[str], work: Path, env: dict, run_pipeline: Callable[[Path, dict, Path, str], dict]
) -> dict[str, dict]:
    """The pipeline once per engine, one after the other; ``{engine: run_pipeline's result}``."""
    data, logs = work / "data", work / "logs"
    runs: dict[str, dict] = {}
    for i, name in enumerate(names):
        if i == 0:
            edata, elogs = data, logs
        else:
            shutil.rmtree(work / f"engine-{name}", ignore_errors=True)
            edata, elogs = work / f"engine-{name}" / "data", logs / name
        label = "pipeline" if names == [DEFAULT] else f"pipeline ({name})"
        run = run_pipeline(edata, engine_env(env, name, edata, data / "landing"), elogs, label)
        run["dbt_invocations"] = dbt_invocations(run.get("run_id"))
        if name == "spark":
            run["spark_memory"] = env.get("ECOM_SPARK_MEMORY") or SPARK_MEMORY_DEFAULT
        runs[name] = run
    return runs


# ------------------------------------------------------------------------- dbt's own figures


def _when(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def node_times(results: dict) -> dict[str, list[float]]:
    """Execution seconds of an invocation's nodes (``run_results.json``), per kind."""
    out: dict[str, list[float]] = {}
    for node in results.get("results", []):
        kind = NODE_KINDS.get(node["unique_id"].split(".", 1)[0], "other")
        out.setdefault(kind, []).append(float(node.get("execution_time") or 0.0))
    return out


def kind_stats(times: dict[str, list[float]]) -> dict[str, dict]:
    return {
        kind: {"count": len(v), "sum_s": round(sum(v), 2), "median_s": round(statistics.median(v), 3)}
        for kind, v in sorted(times.items())
        if v
    }


def invocation_figures(results: dict) -> dict:
    """One dbt invocation's ``run_results.json``: elapsed, start-up, and per kind of node."""
    starts = [
        _when(t["started_at"]) for n in results.get("results", []) for t in n.get("timing", []) if t.get("started_at")
    ]
    began = results.get("metadata", {}).get("invocation_started_at")
    return {
        "elapsed_s": round(float(results.get("elapsed_time") or 0.0), 2),
        # dbt's start, the manifest, the adapter's connection (local Spark: the JVM), the relation cache
        "startup_s": round(min(starts) - _when(began), 2) if starts and began else None,
        "nodes": kind_stats(node_times(results)),
    }


def dbt_invocations(run_id: str | None, target_dir: Path | None = None) -> dict:
    """The run's dbt invocations, from the folders dagster-dbt names ``<step>-<run id[:7]>-<id>``
    in dbt's target folder (the newest ten are kept): each one's figures and their total."""
    invocations: dict[str, dict] = {}
    merged: dict[str, list[float]] = {}
    if run_id:
        for folder in sorted((target_dir or DBT_PROJECT_DIR / "target").glob(f"*-{run_id[:7]}-*")):
            path = folder / "run_results.json"
            if not path.is_file():
                continue
            results = json.loads(path.read_text())
            invocations[folder.name] = invocation_figures(results)
            for kind, v in node_times(results).items():
                merged.setdefault(kind, []).extend(v)
    startups = [i["startup_s"] for i in invocations.values() if i["startup_s"] is not None]
    return {
        "invocations": invocations,
        "total": {
            "invocations": len(invocations),
            "startup_s": round(sum(startups), 2) if startups else None,
            "elapsed_s": round(sum(i["elapsed_s"] for i in invocations.values()), 2) if invocations else None,
            "nodes": kind_stats(merged),
        },
    }


# ------------------------------------------------------------------------- the engines section


def dbt_parts(dbt_stage_s: float | None, total: dict, models_exec_s: float | None) -> dict:
    """Where the dbt steps' seconds go, from dbt's own figures: start-up before the first node
    (local Spark starts its JVM there), the on-run-start hook, executing models and seeds,
    data tests, unit tests, and the rest (dbt and Dagster around the nodes; on Spark also the
    raw Parquet sync and the built tables copied into DuckDB)."""
    nodes = total.get("nodes", {})

    def summed(*kinds):
        found = [nodes[k]["sum_s"] for k in kinds if k in nodes]
        return round(sum(found), 2) if found else None

    parts = {
        "startup": total.get("startup_s"),
        "hooks": summed("hooks"),
        "models_and_seeds": summed("models", "seeds") if nodes else models_exec_s,
        "tests": summed("tests"),
        "unit_tests": summed("unit tests"),
    }
    known = [v for v in parts.values() if v is not None]
    parts["rest"] = round(dbt_stage_s - sum(known), 2) if dbt_stage_s is not None and nodes else None
    return parts


def figures(run: dict) -> dict:
    """One engine's figures from its pipeline result (``bench.run_pipeline``'s dict)."""
    summ = run.get("summary", {})
    stages = summ.get("seconds_by_stage", {})
    steps = run.get("steps", [])
    dbt_total = run.get("dbt_invocations", {}).get("total") or {"invocations": 0, "startup_s": None, "nodes": {}}
    return {
        "returncode": run.get("returncode"),
        "status": run.get("status"),
        "end_to_end_s": run.get("wall_s"),
        "run_s": run.get("run_seconds"),
        "stages_s": {k: stages.get(k) for k in STAGES},
        "dbt_steps_s": {s["step"]: s["seconds"] for s in steps if s["category"] == "dbt"},
        "dbt_models_exec_s": summ.get("dbt_models_exec_s"),
        "dbt": dbt_total,
        "dbt_parts_s": dbt_parts(stages.get("dbt"), dbt_total, summ.get("dbt_models_exec_s")),
        "peak_rss_tree_mb": run.get("peak_rss_tree_mb"),
        "peak_rss_max_process_mb": run.get("peak_rss_max_process_mb"),
        "peak_rss_jvm_mb": run.get("peak_rss_by_command_mb", {}).get("java"),
        "jvm_processes": run.get("processes_by_command", {}).get("java", 0),
        "failed_steps": summ.get("failed_steps", []),
        **({"spark_memory": run["spark_memory"]} if "spark_memory" in run else {}),
    }


def ratio(value: float | None, base: float | None) -> float | None:
    return round(value / base, 2) if value is not None and base else None


def ratios(per_engine: dict[str, dict], base: str) -> dict[str, dict]:
    """``{"spark/duckdb": {measure: ratio}}`` for each engine against ``base``."""
    b = per_engine[base]
    out = {}
    for name, f in per_engine.items():
        if name == base:
            continue
        r = {
            "end_to_end": ratio(f["end_to_end_s"], b["end_to_end_s"]),
            "run": ratio(f["run_s"], b["run_s"]),
            **{k: ratio(f["stages_s"].get(k), b["stages_s"].get(k)) for k in STAGES},
            "peak_rss_tree": ratio(f["peak_rss_tree_mb"], b["peak_rss_tree_mb"]),
        }
        out[f"{name}/{base}"] = r
    return out


def parity_summary(results: Iterable, seconds: float | None = None, load_times_only: Iterable[str] = ()) -> dict:
    """``devtools.engine_parity`` results -> counts, the equal tables and the differing ones;
    ``load_times_only``: differing tables found equal once their load-time columns are left out."""
    results = list(results)
    equal = [f"{r.schema}.{r.name}" for r in results if r.equal]
    different = {f"{r.schema}.{r.name}": r.describe() for r in results if not r.equal}
    by_load_time = {t: LOAD_TIME_COLUMNS[t] for t in load_times_only if t in different}
    return {
        "tables": len(results),
        "equal": len(equal),
        "equal_tables": equal,
        "different": different,
        # tables that differ only in when each engine's own ingestion loaded the files
        "equal_but_load_times": {t: list(cols) for t, cols in by_load_time.items()},
        "real_differences": sorted(set(different) - set(by_load_time)),
        **({"seconds": round(seconds, 1)} if seconds is not None else {}),
    }


def equal_without(left: Path, right: Path, table: str, leave_out: Iterable[str]) -> bool:
    """``table`` of both warehouses equal as a multiset of rows once ``leave_out`` columns are dropped."""
    import duckdb

    from ecom_platform.lib.warehouse import sql_ident, sql_literal

    schema, name = table.split(".")
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_literal(str(left))} AS l (READ_ONLY)")
        con.execute(f"ATTACH {sql_literal(str(right))} AS r (READ_ONLY)")
        cols = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'l' "
            "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
        keep = ", ".join(sql_ident(c) for (c,) in cols if c not in set(leave_out))
        rel = f"{sql_ident(schema)}.{sql_ident(name)}"
        for a, b in (("l", "r"), ("r", "l")):
            q = f"SELECT count(*) FROM (SELECT {keep} FROM {a}.{rel} EXCEPT ALL SELECT {keep} FROM {b}.{rel})"
            if con.execute(q).fetchone()[0]:
                return False
        return True
    finally:
        con.close()


def parity(left: Path, right: Path) -> dict:
    """marts and bi of two warehouses, table by table (``devtools.engine_parity.compare``)."""
    from devtools.engine_parity import compare

    for side, path in (("left", left), ("right", right)):
        if not Path(path).exists():
            return {"error": f"the {side} warehouse {path} does not exist"}
    t0 = time.perf_counter()
    try:
        results = compare(left, right)
        differing = {f"{r.schema}.{r.name}" for r in results if not r.equal and not r.missing}
        load_times_only = [
            t for t in sorted(differing & set(LOAD_TIME_COLUMNS)) if equal_without(left, right, t, LOAD_TIME_COLUMNS[t])
        ]
    except Exception as exc:  # a failed run may leave tables half built; report, never crash the bench
        return {"error": f"{type(exc).__name__}: {exc}"}
    return parity_summary(results, time.perf_counter() - t0, load_times_only)


def section(runs: dict[str, dict], say: Callable[[str], None] = print) -> dict:
    """The scale's ``engines`` section from :func:`run_engines`' results."""
    names = list(runs)
    base = names[0]
    per_engine = {name: figures(run) for name, run in runs.items()}
    out: dict = {
        "names": names,
        "baseline": base,
        "per_engine": per_engine,
        "ratios": ratios(per_engine, base) if len(names) > 1 else {},
        # the full pipeline results of the other engines (the first one's is the scale's "pipeline")
        "pipelines": {name: run for name, run in runs.items() if name != base},
    }
    if "duckdb" in runs and "spark" in runs:
        left, right = (Path(runs[e].get("facts", {}).get("warehouse", "")) for e in ("duckdb", "spark"))
        p = parity(left, right)
        out["parity"] = {
            "left": "duckdb",
            "right": "spark",
            "left_warehouse": str(left),
            "right_warehouse": str(right),
            **p,
        }
        verdict = p.get("error") or (
            f"{p['equal']} of {p['tables']} marts/bi tables equal"
            + (f", {len(p['equal_but_load_times'])} more apart from load times" if p["equal_but_load_times"] else "")
        )
        say(f"  engine parity (duckdb vs spark): {verdict}")
    return out


# ------------------------------------------------------------------------- report


def _num(v: float | None, digits: int = 1, unit: str = "") -> str:
    return "—" if v is None else f"{v:,.{digits}f}{unit}"


def _nodes(f: dict, kind: str, key: str):
    return f["dbt"]["nodes"].get(kind, {}).get(key)


def stage_rows(sec: dict) -> list[list[str]]:
    """Rows of the "stage | <engine> s … | <engine>/<base> …" table."""
    names, base = sec["names"], sec["baseline"]
    per = sec["per_engine"]
    getters: list[tuple[str, Callable[[dict], float | None]]] = [
        ("pipeline end to end (landing → BI copy), process wall", lambda f: f["end_to_end_s"]),
        ("  of which the Dagster run", lambda f: f["run_s"]),
        ("  ingestion", lambda f: f["stages_s"].get("ingestion")),
        ("  dbt build (models + tests)", lambda f: f["stages_s"].get("dbt")),
    ]
    steps: list[str] = []
    for name in names:
        steps += [s for s in per[name]["dbt_steps_s"] if s not in steps]
    getters += [(f"    step {s}", lambda f, s=s: f["dbt_steps_s"].get(s)) for s in steps]
    getters += [
        ("    dbt start-up before the first node (Spark: its JVM)", lambda f: f["dbt_parts_s"]["startup"]),
        ("    on-run-start hook (Spark: the raw tables declared)", lambda f: f["dbt_parts_s"]["hooks"]),
        ("    models and seeds executing (dbt's timing)", lambda f: f["dbt_parts_s"]["models_and_seeds"]),
        ("    data tests executing (dbt's timing)", lambda f: f["dbt_parts_s"]["tests"]),
        ("    unit tests executing (dbt's timing)", lambda f: f["dbt_parts_s"]["unit_tests"]),
        (
            "    the rest: dbt and Dagster around the nodes (Spark: raw Parquet, tables back to DuckDB)",
            lambda f: f["dbt_parts_s"]["rest"],
        ),
        ("  ML", lambda f: f["stages_s"].get("ml")),
        ("  publish (BI copy + dashboard)", lambda f: f["stages_s"].get("publish")),
        ("  other steps (freshness checks)", lambda f: f["stages_s"].get("other")),
    ]
    rows = []
    for label, get in getters:
        vals = [get(per[n]) for n in names]
        rows.append(
            [label]
            + [_num(v) for v in vals]
            + [_num(ratio(v, vals[0]), 2, "×") for n, v in zip(names, vals) if n != base]
        )
    return rows


def other_rows(sec: dict) -> list[list[str]]:
    """Rows of the memory and dbt-node table (MB, counts, median seconds)."""
    names, base = sec["names"], sec["baseline"]
    per = sec["per_engine"]
    getters: list[tuple[str, Callable[[dict], float | None], int]] = [
        ("peak RSS, pipeline process tree (MB)", lambda f: f["peak_rss_tree_mb"], 0),
        ("largest single process, its own peak (MB)", lambda f: f["peak_rss_max_process_mb"], 0),
        ("  of which the JVM, peak (MB)", lambda f: f["peak_rss_jvm_mb"], 0),
        ("dbt invocations found", lambda f: f["dbt"]["invocations"], 0),
        ("models executed", lambda f: _nodes(f, "models", "count"), 0),
        ("  median seconds per model", lambda f: _nodes(f, "models", "median_s"), 2),
        ("data tests executed", lambda f: _nodes(f, "tests", "count"), 0),
        ("  median seconds per data test", lambda f: _nodes(f, "tests", "median_s"), 2),
    ]
    rows = []
    for label, get, digits in getters:
        vals = [get(per[n]) for n in names]
        rows.append(
            [label]
            + [_num(v, digits) for v in vals]
            + [_num(ratio(v, vals[0]), 2, "×") for n, v in zip(names, vals) if n != base]
        )
    return rows


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def markdown(r: dict) -> str:
    """The scale's engines side by side, or "" when the scale has no engines section."""
    sec = r.get("engines")
    if not sec:
        return ""
    names, base = sec["names"], sec["baseline"]
    others = [n for n in names if n != base]
    per = sec["per_engine"]
    lines = [f"#### Engines side by side, scale {r['scale']:g}", ""]
    status = "; ".join(
        f"{n}: run {per[n]['status'] or '?'}"
        + (f", failed steps {', '.join(per[n]['failed_steps'])}" if per[n]["failed_steps"] else "")
        + (f", Spark driver memory {per[n]['spark_memory']}" if per[n].get("spark_memory") else "")
        for n in names
    )
    lines += [status, ""]
    lines += _table(["stage"] + [f"{n} s" for n in names] + [f"{n}/{base}" for n in others], stage_rows(sec))
    lines.append("")
    lines += _table(["measure"] + names + [f"{n}/{base}" for n in others], other_rows(sec))
    p = sec.get("parity")
    if p:
        lines.append("")
        if p.get("error"):
            lines.append(f"Parity ({p['left']} vs {p['right']}, marts and bi): not compared: {p['error']}")
        else:
            lines.append(
                f"Parity ({p['left']} vs {p['right']}, `devtools.engine_parity`, marts and bi): "
                f"**{p['equal']} of {p['tables']} tables equal** (columns, types, rows as a multiset)"
                + ("." if not p["different"] else "; differ:")
            )
            for table, text in p["different"].items():
                cols = p.get("equal_but_load_times", {}).get(table)
                lines.append(
                    f"- {table}: equal apart from {', '.join(cols)} (when each engine's own ingestion loaded the files)"
                    if cols
                    else f"- {text}"
                )
    return "\n".join(lines) + "\n"


def parity_ok(results: list[dict]) -> bool:
    """False when any scale's engines built different marts/bi tables (or could not be compared)."""
    for r in results:
        p = r.get("engines", {}).get("parity")
        if p and (p.get("error") or p.get("real_differences")):
            return False
    return True
