"""Benchmarks at scale: the whole pipeline beside a plain-DuckDB floor and a pandas peer.

    python -m benchmarks.bench --scales 1,10,50 [--engines duckdb,spark] [--out bench_results/]
                                  [--work DIR] [--keep-data] [--reuse-data] [--skip-pipeline]
                                  [--skip-refs] [--seed 42] [--pandas-mem-gb 12] [--prepare]

Per scale, in its own folder ``<work>/scale<S>/`` (default work root ``<data>/bench``), every
stage in its own child process whose environment points ``ECOM_DATA_DIR``, ``ECOM_LANDING``
and ``DAGSTER_HOME`` there (this module never reads the environment; it only sets it for
children):

1. **generate**: ``python -m ecom_platform.cli generate --force`` (timed; files and bytes
   from the generator's manifest);
2. **pipeline**: ``python -m ecom_platform.cli materialize``: every asset in one Dagster run,
   landing files to the BI copy. Step durations come from the run's event log in that
   ``DAGSTER_HOME`` (``DagsterInstance.get_run_step_stats``), file-level ingestion rates
   from ``raw.ingest_log``, sizes from the warehouse and BI copy files;
3. **floor**: :func:`benchmarks.refs.floor_tables` -- one DuckDB SQL script
   from the same landing files to ``kpi_sales_daily`` and ``customer_rfm``;
4. **pandas**: :func:`benchmarks.refs.pandas_tables`, in a child whose address
   space is capped (``RLIMIT_AS``) so it fails with ``MemoryError`` instead of taking the
   machine down; a failure is recorded with its error;
5. **agreement**: ours vs floor, ours vs pandas (and floor vs pandas): exact on integers,
   to the cent on money.

With ``--engines duckdb,spark`` the pipeline stage runs once per engine (``ECOM_ENGINE``) on
the same landing files, each engine in its own data folder, and the scale's report gets
the engines side by side and their marts/bi parity (:mod:`benchmarks.engines`); the
references and the agreement use the first engine's warehouse.

Peak memory of each child is measured by a thread that samples ``/proc`` every 0.5 s and
sums the resident set (RSS) of the child and all its descendants (dbt, for instance, runs
as a subprocess): ``peak_rss_tree_mb``. Each process's own high-water mark (``VmHWM``) is
also read, so ``peak_rss_max_process_mb`` catches a single process's peak between two
samples. A spike shorter than 0.5 s spread over several processes can be missed by the
tree figure. ``peak_rss_by_command_mb`` is the peak of the summed RSS per process name
(``java`` is the Spark engine's JVM, a child of the dbt process), ``processes_by_command``
how many processes of each name were seen. A child caught between fork and exec (the JVM
spawns ``chmod`` many times a step) shows its parent's RSS under the forking thread's name:
it is not added (``memory_spawns_skipped`` counts such sightings).

Writes ``<out>/<timestamp>-scale<S>.json`` and ``.md`` per scale and
``<out>/<timestamp>-summary.json`` / ``.md`` for the whole run (plus ``latest.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import engines
from ecom_platform.config import DBT_PROJECT_DIR, REPO_ROOT, environment_for_subprocess, get_settings

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
ENV_KEYS_CLEARED = ("ECOM_WAREHOUSE", "ECOM_BI_DIR", "ECOM_LANDING", "ECOM_DATA_DIR", "DAGSTER_HOME", "ECOM_ENV")
# dbt nodes between raw.transactions and the two marts (for the like-for-like ratio)
PATH_NODES = (
    "seeds/non_merchandise_codes",
    "seeds/rfm_segment_map",
    "staging/stg_retail__transactions",
    "intermediate/int_retail__order_lines",
    "marts/fct_order_lines",
    "intermediate/int_calendar__date_range",
    "intermediate/int_calendar__uk_bank_holidays",
    "marts/dim_dates",
    "marts/kpi_sales_daily",
    "marts/customer_rfm",
)
TARGETS = {"scale": 50, "end_to_end_s": 20 * 60, "peak_rss_mb": 8 * 1024, "sql_vs_floor": 3.0}


def _say(msg: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {msg}", flush=True)


# ------------------------------------------------------------------------- memory monitor


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _status_kb(pid: int) -> tuple[int, int, str]:
    """(VmRSS, VmHWM) of a process in kB and its name; (0, 0, "") when it is gone."""
    rss = hwm = 0
    name = ""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("Name:"):
                    name = line[len("Name:") :].strip()
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm, name


def _exe(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def _thread_names(pid: int) -> set[str]:
    names = set()
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            with open(f"{task.path}/comm") as fh:
                names.add(fh.read().strip())
    except OSError:
        pass
    return names


def _spawning(name: str, exe: str, parent: tuple[int, str, str] | None) -> bool:
    """A child between fork (or posix_spawn's vfork) and exec: the parent's program under the
    name of the parent's thread that forked it. It shows the parent's RSS (the JVM starts
    ``chmod`` so, many times a step), which the tree sum must not count twice."""
    if parent is None or not exe or exe != parent[2] or name == parent[1]:
        return False
    return name in _thread_names(parent[0])


class TreeMemory:
    """Samples the RSS of a process and all its descendants every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.5):
        self.pid, self.interval = pid, interval
        self.peak_tree_kb = 0
        self.peak_process_kb = 0
        self.samples = 0
        self.peak_by_name_kb: dict[str, int] = {}  # peak of the summed RSS per process name
        self.pids_by_name: dict[str, set[int]] = {}
        self.spawns_skipped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self):
        kids = _children_map()
        stack: list[tuple[int, tuple[int, str, str] | None]] = [(self.pid, None)]
        seen, total, by_name = set(), 0, {}
        while stack:
            p, parent = stack.pop()
            if p in seen:
                continue
            seen.add(p)
            rss, hwm, name = _status_kb(p)
            exe = _exe(p)
            if _spawning(name, exe, parent):
                self.spawns_skipped += 1
            else:
                total += rss
                if name:
                    by_name[name] = by_name.get(name, 0) + rss
                    self.pids_by_name.setdefault(name, set()).add(p)
            self.peak_process_kb = max(self.peak_process_kb, hwm)
            stack.extend((k, (p, name, exe)) for k in kids.get(p, []))
        self.peak_tree_kb = max(self.peak_tree_kb, total)
        for name, kb in by_name.items():
            self.peak_by_name_kb[name] = max(self.peak_by_name_kb.get(name, 0), kb)
        self.samples += 1


def run_child(cmd: list[str], env: dict, log_path: Path, *, cap_bytes: int | None = None, label: str = "") -> dict:
    """Run a child, teeing nothing (output goes to ``log_path``); wall time and peak memory."""

    def limit():  # in the child, before exec
        if cap_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit if cap_bytes else None
        )
        with TreeMemory(proc.pid) as mem:
            rc = proc.wait()
        mem.sample()  # the dead child's tree adds nothing, but keeps the counters consistent
    secs = time.perf_counter() - t0
    out = {
        "cmd": " ".join(cmd[1:]) if cmd[0] == sys.executable else " ".join(cmd),
        "returncode": rc,
        "wall_s": round(secs, 2),
        "peak_rss_tree_mb": round(mem.peak_tree_kb / 1024, 1),
        "peak_rss_max_process_mb": round(mem.peak_process_kb / 1024, 1),
        "peak_rss_by_command_mb": {k: round(v / 1024, 1) for k, v in sorted(mem.peak_by_name_kb.items())},
        "processes_by_command": {k: len(v) for k, v in sorted(mem.pids_by_name.items())},
        "memory_samples": mem.samples,
        "memory_spawns_skipped": mem.spawns_skipped,
        "log": str(log_path),
    }
    _say(f"  {label or cmd[-1]}: rc={rc} {secs:.1f}s, peak RSS (tree) {out['peak_rss_tree_mb']:,.0f} MB")
    return out


def _tail(path: Path, n: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


# ------------------------------------------------------------------------- per-scale pieces


def child_env(work: Path, scale: float, seed: int, extra: dict | None = None) -> dict:
    env = {k: v for k, v in environment_for_subprocess().items() if k not in ENV_KEYS_CLEARED}
    data = work / "data"
    env.update(
        {
            "ECOM_ENV": "dev",
            "ECOM_DATA_DIR": str(data),
            "ECOM_LANDING": str(data / "landing"),
            "DAGSTER_HOME": str(data / "dagster_home"),
            "ECOM_SCALE": f"{scale:g}",
            "ECOM_SEED": str(seed),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def _manifest(landing: Path) -> dict | None:
    path = landing / "_generator_manifest.json"
    return json.loads(path.read_text()) if path.exists() else None


def step_category(step_key: str) -> str:
    if step_key.startswith("raw__"):
        return "ingestion"
    if step_key.startswith("dbt_"):
        return "dbt"
    if step_key.startswith(("train_", "ml__")):
        return "ml"
    if step_key.startswith(("bi_copy__", "bi__")):
        return "publish"
    return "other"


def run_steps(dagster_home: Path) -> dict:
    """Steps of the latest run in ``dagster_home``: duration, status and category of each."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
    try:
        records = instance.get_run_records(limit=1)
        if not records:
            return {"run_id": None, "steps": []}
        run = records[0].dagster_run
        stats = instance.get_run_stats(run.run_id)
        steps = []
        for s in instance.get_run_step_stats(run.run_id):
            dur = (s.end_time - s.start_time) if (s.start_time and s.end_time) else None
            steps.append(
                {
                    "step": s.step_key,
                    "category": step_category(s.step_key),
                    "status": s.status.value if s.status else None,
                    "start": s.start_time,
                    "seconds": round(dur, 2) if dur is not None else None,
                }
            )
        steps.sort(key=lambda x: x["start"] or 0)
        first = min((x["start"] for x in steps if x["start"]), default=None)
        for x in steps:
            x["start_offset_s"] = round(x.pop("start") - first, 2) if first and x["start"] else None
        # dbt reports each model's execution time in the materialization metadata
        dbt_nodes = {}
        for rec in instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=100_000
        ).records:
            mat = rec.event_log_entry.dagster_event.event_specific_data.materialization
            dur = mat.metadata.get("Execution Duration")
            if dur is not None:
                dbt_nodes[mat.asset_key.to_user_string()] = round(float(dur.value), 3)
        return {
            "run_id": run.run_id,
            "dbt_node_seconds": dbt_nodes,
            "status": run.status.value,
            "run_seconds": round(stats.end_time - stats.start_time, 2) if stats.start_time and stats.end_time else None,
            "steps": steps,
        }
    finally:
        instance.dispose()


def warehouse_facts(data_dir: Path) -> dict:
    """Ingestion log totals, row counts and sizes on disk (read-only)."""
    import duckdb

    wh = data_dir / "dev" / "warehouse.duckdb"
    out: dict = {"warehouse": str(wh)}
    if not wh.exists():
        return out
    out["warehouse_mb"] = round(sum(p.stat().st_size for p in wh.parent.glob("warehouse.duckdb*")) / 1e6, 1)
    bi = data_dir / "dev" / "bi"
    if bi.exists():
        out["bi_copy_mb"] = round(
            sum(p.stat().st_size for p in bi.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6, 1
        )
    con = duckdb.connect(str(wh), read_only=True)
    try:
        tables = {
            f"{s}.{t}"
            for s, t in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        }
        if "raw.ingest_log" in tables:
            rows = con.execute("""
                SELECT source, count(*), sum(file_bytes), sum(rows_read), sum(rows_accepted), sum(rows_rejected),
                       sum(epoch(finished_at) - epoch(started_at))
                FROM raw.ingest_log WHERE status IN ('loaded', 'replaced') GROUP BY source ORDER BY source
            """).fetchall()
            out["ingest_log"] = {
                src: {
                    "files": f,
                    "bytes": b,
                    "rows_read": rr,
                    "rows_accepted": ra,
                    "rows_rejected": rj,
                    "file_seconds": round(s or 0, 2),
                    "rows_per_s_file_level": round(rr / s) if s else None,
                }
                for src, f, b, rr, ra, rj, s in rows
            }
        counts = {}
        for t in (
            "raw.transactions",
            "raw.events",
            "marts.fct_order_lines",
            "marts.fct_events",
            "marts.dim_customers",
            "marts.customer_rfm",
            "marts.kpi_sales_daily",
        ):
            if t in tables:
                counts[t] = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        out["row_counts"] = counts
    finally:
        con.close()
    return out


def summarise_pipeline(steps: dict, facts: dict) -> dict:
    by_cat: dict[str, float] = {}
    for s in steps.get("steps", []):
        if s["seconds"] is not None:
            by_cat[s["category"]] = round(by_cat.get(s["category"], 0) + s["seconds"], 2)
    ml_steps = {s["step"]: s["seconds"] for s in steps.get("steps", []) if s["category"] == "ml"}
    ingest_rows = sum(v["rows_read"] or 0 for v in facts.get("ingest_log", {}).values())
    nodes = steps.get("dbt_node_seconds", {})
    tx_s = next((s["seconds"] for s in steps.get("steps", []) if s["step"] == "raw__transactions"), None)
    ingest_s = by_cat.get("ingestion")
    return {
        "seconds_by_stage": by_cat,
        "ml_steps_s": ml_steps,
        "ingest_rows": ingest_rows,
        "ingest_rows_per_s": round(ingest_rows / ingest_s) if ingest_s else None,
        "ours_sql_s": round((by_cat.get("ingestion") or 0) + (by_cat.get("dbt") or 0), 2),
        "dbt_models_exec_s": round(sum(nodes.values()), 2) if nodes else None,
        # like for like: ingesting the transaction files + executing the dbt nodes on the path to the two marts
        "ours_path_s": round(tx_s + sum(nodes.get(n, 0) for n in PATH_NODES), 2) if nodes and tx_s else None,
        "failed_steps": [s["step"] for s in steps.get("steps", []) if s["status"] not in ("SUCCESS", "SKIPPED")],
    }


def run_pipeline(data: Path, env: dict, logs: Path, label: str = "pipeline") -> dict:
    """``cli materialize`` on ``data`` (its state removed first): wall time, memory, steps, facts."""
    py = sys.executable
    shutil.rmtree(data / "dev", ignore_errors=True)
    shutil.rmtree(data / "dagster_home", ignore_errors=True)
    # As `make run` does before it materializes: dbt's manifest and partial-parse state
    # prepared with this scale's profile (its warehouse path), else every dbt step of
    # the run re-parses the project in full (~4 s each). Not counted in the pipeline.
    prep = run_child([py, "-m", "ecom_platform.cli", "prepare"], env, logs / "prepare.log", label="prepare")
    run = run_child([py, "-m", "ecom_platform.cli", "materialize"], env, logs / "pipeline.log", label=label)
    steps = run_steps(data / "dagster_home") if (data / "dagster_home").exists() else {"steps": []}
    facts = warehouse_facts(data)
    out = {**run, **steps, "facts": facts, "summary": summarise_pipeline(steps, facts), "prepare": prep}
    if run["returncode"] != 0:
        out["log_tail"] = _tail(logs / "pipeline.log", 15)
    return out


def bench_scale(scale: float, args, stamp: str) -> dict:
    work = Path(args.work) / f"scale{scale:g}"
    data = work / "data"
    landing = data / "landing"
    logs = work / "logs"
    result: dict = {"scale": scale, "seed": args.seed, "work_dir": str(work), "started": stamp}
    _say(f"scale {scale:g}: work dir {work}")
    env = child_env(work, scale, args.seed, {"ECOM_DUCKDB_MEMORY": args.duckdb_memory} if args.duckdb_memory else None)
    py = sys.executable

    # 1. generator
    m = _manifest(landing)
    if args.reuse_data and m and m.get("scale") == scale and m.get("seed") == args.seed:
        _say("  reusing the generated landing folder")
        result["generate"] = {"reused": True}
    else:
        if work.exists():
            shutil.rmtree(work)
        data.mkdir(parents=True)
        result["generate"] = run_child(
            [py, "-m", "ecom_platform.cli", "generate", "--force"], env, logs / "generate.log", label="generate"
        )
        m = _manifest(landing)
    if m:
        result["data"] = {
            "n_customers": m["n_customers"],
            "order_lines": m["totals"]["transactions"]["rows_written"],
            "events": m["totals"]["events"]["rows_written"],
            "landing_files": sum(t["files"] for t in m["totals"].values()),
            "landing_bytes": sum(t["bytes"] for t in m["totals"].values()),
        }
    else:
        result["error"] = "the generator wrote no manifest: " + _tail(logs / "generate.log")
        return result

    # 2. the pipeline, landing files to the BI copy: once per engine, the first in `data`
    if not args.skip_pipeline:
        runs = engines.run_engines(args.engines, work, env, run_pipeline)
        result["prepare"] = runs[args.engines[0]].pop("prepare")
        result["pipeline"] = runs[args.engines[0]]
        if args.engines != [engines.DEFAULT]:
            result["engines"] = engines.section(runs, say=_say)

    # 3-4. references, each in its own child
    refs_dir = work / "refs"
    if not args.skip_refs:
        result["refs"] = {}
        for kind in ("floor", "pandas"):
            cmd = [
                py,
                "-m",
                "benchmarks.bench",
                "--ref",
                kind,
                "--landing",
                str(landing),
                "--ref-out",
                str(refs_dir),
                "--duckdb-memory",
                args.duckdb_memory or get_settings().duckdb_memory_limit,
                "--ref-temp",
                str(data / ".floor_tmp"),
            ]
            cap = int(args.pandas_mem_gb * 1024**3) if kind == "pandas" else None
            r = run_child(cmd, env, logs / f"{kind}.log", cap_bytes=cap, label=kind)
            inner = refs_dir / f"{kind}.json"
            if inner.exists():
                r.update(json.loads(inner.read_text()))
            if r["returncode"] != 0:
                r.setdefault("error", _tail(logs / f"{kind}.log", 6) or f"exit code {r['returncode']}")
            if cap:
                r["address_space_cap_gb"] = args.pandas_mem_gb
            result["refs"][kind] = r

        # 5. agreement
        result["agreement"] = agreement(data, refs_dir, result)
    result["ratios"] = ratios(result)
    if not args.keep_data:
        shutil.rmtree(work, ignore_errors=True)
        result["work_dir_removed"] = True
    return result


def agreement(data: Path, refs_dir: Path, result: dict) -> dict:
    import pandas as pd

    from benchmarks import refs as bench_refs

    tables: dict[str, dict] = {}
    wh = data / "dev" / "warehouse.duckdb"
    if wh.exists():
        try:
            tables["ours"] = bench_refs.warehouse_tables(wh)
        except Exception as exc:  # the marts may be missing after a failed run
            result.setdefault("agreement_notes", []).append(f"ours: {exc}")
    for kind in ("floor", "pandas"):
        files = {t: refs_dir / f"{kind}_{t}.parquet" for t in ("kpi_sales_daily", "customer_rfm")}
        if all(p.exists() for p in files.values()):
            tables[kind] = {t: pd.read_parquet(p) for t, p in files.items()}
    out: dict = {
        "compared": sorted(tables),
        "totals": {k: bench_refs.totals(v) for k, v in tables.items()},
        "pairs": {},
    }
    for a, b in (("ours", "floor"), ("ours", "pandas"), ("floor", "pandas")):
        if a in tables and b in tables:
            out["pairs"][f"{a}_vs_{b}"] = bench_refs.compare(tables[a], tables[b], a, b)
    out["all_agree"] = bool(out["pairs"]) and all(p["agree"] for p in out["pairs"].values())
    verdict = "all agree" if out["all_agree"] else "MISMATCH" if out["pairs"] else "nothing to compare"
    _say(f"  agreement ({', '.join(out['compared'])}): {verdict}")
    return out


def ratios(result: dict) -> dict:
    summ = result.get("pipeline", {}).get("summary", {})
    ours = summ.get("ours_sql_s")
    refs = result.get("refs", {})
    floor = refs.get("floor", {}).get("compute_s") if refs.get("floor", {}).get("returncode") == 0 else None
    pand = refs.get("pandas", {}).get("compute_s") if refs.get("pandas", {}).get("returncode") == 0 else None
    path = summ.get("ours_path_s")
    return {
        "ours_sql_over_floor": round(ours / floor, 2) if ours and floor else None,
        "ours_path_over_floor": round(path / floor, 2) if path and floor else None,
        "pandas_over_ours_sql": round(pand / ours, 2) if ours and pand else None,
    }


# ------------------------------------------------------------------------- the reference child


def ref_main(kind: str, landing: Path, out_dir: Path, memory: str | None, temp: Path | None) -> int:
    from benchmarks import refs as bench_refs

    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    info: dict = {"kind": kind}
    try:
        if kind == "floor":
            tables = bench_refs.floor_tables(landing, SEEDS_DIR, memory_limit=memory, temp_dir=temp)
            info["duckdb_memory_limit"] = memory
        else:
            tables = bench_refs.pandas_tables(landing, SEEDS_DIR)
    except MemoryError as exc:
        info.update(
            error=f"MemoryError: {exc or 'out of memory under the address-space cap'}",
            compute_s=round(time.perf_counter() - t0, 2),
        )
        (out_dir / f"{kind}.json").write_text(json.dumps(info))
        return 3
    info["compute_s"] = round(time.perf_counter() - t0, 2)
    info["self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    for name, df in tables.items():
        df.to_parquet(out_dir / f"{kind}_{name}.parquet", index=False)
    info["rows"] = {k: len(v) for k, v in tables.items()}
    (out_dir / f"{kind}.json").write_text(json.dumps(info))
    print(json.dumps(info), flush=True)
    return 0


# ------------------------------------------------------------------------- reporting


def _fmt(v, unit: str = "", digits: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, (int, float)):
        return f"{v:,.{digits}f}{unit}" if isinstance(v, float) or digits else f"{v:,}{unit}"
    return str(v)


def machine() -> dict:
    mem_kb = 0
    try:
        with open("/proc/meminfo") as fh:
            mem_kb = int(fh.readline().split()[1])
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import dagster
    import duckdb
    import pandas

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024**2, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "dagster": dagster.__version__,
        "pandas": pandas.__version__,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def scale_rows(r: dict) -> list[tuple[str, str]]:
    p = r.get("pipeline", {})
    s = p.get("summary", {})
    st = s.get("seconds_by_stage", {})
    f = p.get("facts", {})
    refs = r.get("refs", {})
    d = r.get("data", {})
    g = r.get("generate", {})
    rows = [
        (
            "order lines / events / customers (generated)",
            f"{d.get('order_lines', 0):,} / {d.get('events', 0):,} / {d.get('n_customers', 0):,}",
        ),
        (
            "landing files (gzip CSV + XLSX)",
            f"{d.get('landing_files', 0)} files, {d.get('landing_bytes', 0) / 1e6:,.1f} MB",
        ),
        (
            "generator (separate from the pipeline)",
            "reused"
            if g.get("reused")
            else f"{_fmt(g.get('wall_s'), ' s')}, peak {_fmt(g.get('peak_rss_tree_mb'), ' MB', 0)}",
        ),
    ]
    if p:
        rows += [
            (
                "pipeline end to end (landing → BI copy), process wall",
                f"{_fmt(p.get('wall_s'), ' s')} (run {p.get('status', '?')})",
            ),
            ("  of which the Dagster run", _fmt(p.get("run_seconds"), " s")),
            (
                "  ingestion",
                f"{_fmt(st.get('ingestion'), ' s')}: {_fmt(s.get('ingest_rows'), '', 0)} rows, "
                f"**{_fmt(s.get('ingest_rows_per_s'), ' rows/s', 0)}**",
            ),
            ("  dbt build (models + tests)", _fmt(st.get("dbt"), " s")),
            ("    of which executing models (dbt's own timing, summed)", _fmt(s.get("dbt_models_exec_s"), " s")),
        ]
        for step, secs in s.get("ml_steps_s", {}).items():
            rows.append((f"  ML {step}", _fmt(secs, " s")))
        rows += [
            ("  ML total", _fmt(st.get("ml"), " s")),
            (
                "  ML per million order lines",
                _fmt(st["ml"] / (d["order_lines"] / 1e6), " s") if st.get("ml") and d.get("order_lines") else "—",
            ),
            ("  publish (BI copy + dashboard)", _fmt(st.get("publish"), " s")),
            ("  other steps (freshness checks)", _fmt(st.get("other"), " s")),
            ("peak memory, pipeline process tree", _fmt(p.get("peak_rss_tree_mb"), " MB", 0)),
            (
                "warehouse on disk / BI copy",
                f"{_fmt(f.get('warehouse_mb'), ' MB')} / {_fmt(f.get('bi_copy_mb'), ' MB')}",
            ),
        ]
        if s.get("failed_steps"):
            rows.append(("failed steps", ", ".join(s["failed_steps"])))
    for kind, label in (("floor", "floor: plain DuckDB script"), ("pandas", "peer: pandas")):
        x = refs.get(kind)
        if not x:
            continue
        if x.get("returncode") == 0:
            rows.append((label, f"{_fmt(x.get('compute_s'), ' s')}, peak {_fmt(x.get('peak_rss_tree_mb'), ' MB', 0)}"))
        else:
            rows.append(
                (
                    label,
                    f"FAILED ({x.get('error', '').splitlines()[-1][:160] if x.get('error') else x.get('returncode')})",
                )
            )
    rt = r.get("ratios", {})
    if p and refs:
        rows += [
            ("ours (ingestion + dbt) ÷ floor", _fmt(rt.get("ours_sql_over_floor"), "×", 2)),
            (
                "ours, like for like (transactions ingestion + the dbt models on the path) ÷ floor",
                f"{_fmt(rt.get('ours_path_over_floor'), '×', 2)} ({_fmt(s.get('ours_path_s'), ' s')})",
            ),
            ("pandas ÷ ours (ingestion + dbt)", _fmt(rt.get("pandas_over_ours_sql"), "×", 2)),
        ]
    ag = r.get("agreement")
    if ag:
        parts = []
        for name, pair in ag.get("pairs", {}).items():
            if pair["agree"]:
                parts.append(f"{name.replace('_vs_', ' = ')}")
            else:
                bad = {t: v for t, v in pair["tables"].items() if not v["agree"]}
                parts.append(f"{name}: MISMATCH {json.dumps({t: v['mismatches'] for t, v in bad.items()})}")
        tot = ag.get("totals", {}).get("floor") or next(iter(ag.get("totals", {}).values()), {})
        rows.append(("agreement on kpi_sales_daily + customer_rfm", "; ".join(parts) or "nothing to compare"))
        if tot:
            rows.append(
                (
                    "  revenue / orders / RFM customers",
                    f"{tot['revenue']:,.2f} / {tot['orders']:,} / {tot['rfm_customers']:,}",
                )
            )
    return rows


def scale_markdown(r: dict, mach: dict) -> str:
    lines = [
        f"### Scale {r['scale']:g} (seed {r['seed']}, {r['started']})",
        "",
        f"Machine: {mach['cpus']} cores ({mach['cpu']}), {mach['memory_gb']} GB RAM, {mach['os']}; "
        f"DuckDB {mach['duckdb']}, Dagster {mach['dagster']}, pandas {mach['pandas']}; "
        f"load average at start {mach['load_average_at_start']}.",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in scale_rows(r)]
    if r.get("error"):
        lines += ["", f"Error: {r['error']}"]
    if r.get("engines"):
        lines += ["", engines.markdown(r)]
    return "\n".join(lines) + "\n"


def summary_markdown(results: list[dict], mach: dict, stamp: str) -> str:
    head = ["measure"] + [f"scale {r['scale']:g}" for r in results]
    table = {}
    for r in results:
        for k, v in scale_rows(r):
            table.setdefault(k, {})[r["scale"]] = v
    lines = [
        f"## Benchmark {stamp}",
        "",
        f"Machine: {mach['cpus']} cores ({mach['cpu']}), {mach['memory_gb']} GB RAM, {mach['os']}, "
        f"Python {mach['python']}, DuckDB {mach['duckdb']}, Dagster {mach['dagster']}, pandas {mach['pandas']}. "
        f"Load average at start: {mach['load_average_at_start']}.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for k, vals in table.items():
        lines.append("| " + " | ".join([k] + [vals.get(r["scale"], "") for r in results]) + " |")
    lines += [
        "",
        "Targets (they apply at scale 50; the verdicts are printed for every scale): end to end < 20 min, "
        "peak memory < 8 GB, ours ≤ 3× the floor (like for like, and all of ingestion + dbt).",
    ]
    for r in results:
        verdicts = targets(r)
        if verdicts:
            lines.append(
                f"- scale {r['scale']:g}: "
                + "; ".join(f"{k} {'met' if ok else 'MISSED'} ({v})" for k, (ok, v) in verdicts.items())
            )
    lines += ["\n" + engines.markdown(r) for r in results if r.get("engines")]
    return "\n".join(lines) + "\n"


def targets(r: dict) -> dict:
    p = r.get("pipeline")
    if not p:
        return {}
    out = {}
    if p.get("wall_s") is not None:
        out["end to end < 20 min"] = (p["wall_s"] < TARGETS["end_to_end_s"], f"{p['wall_s'] / 60:.1f} min")
    if p.get("peak_rss_tree_mb") is not None:
        out["peak < 8 GB"] = (p["peak_rss_tree_mb"] < TARGETS["peak_rss_mb"], f"{p['peak_rss_tree_mb'] / 1024:.2f} GB")
    # both readings of "our SQL stages within 3x the floor": the same work (the path from
    # the transaction files to the two marts) and everything ingestion and dbt do
    for key, label in (
        ("ours_path_over_floor", "SQL ≤ 3× floor, like for like"),
        ("ours_sql_over_floor", "SQL ≤ 3× floor, all of ingestion + dbt"),
    ):
        ratio = r.get("ratios", {}).get(key)
        if ratio is not None:
            out[label] = (ratio <= TARGETS["sql_vs_floor"], f"{ratio:.2f}×")
    return out


# ------------------------------------------------------------------------- main


def _scales(text: str) -> list[float]:
    out = []
    for part in text.split(","):
        v = float(part)
        if v <= 0:
            raise argparse.ArgumentTypeError(f"scale {v} must be > 0")
        out.append(v)
    return out


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.splitlines()[0])
    ap.add_argument(
        "--scales", type=_scales, default=_scales("1,10,50"), help="comma-separated scale factors (default 1,10,50)"
    )
    ap.add_argument(
        "--engines",
        type=engines.parse_engines,
        default=[engines.DEFAULT],
        help="comma-separated dbt engines, the pipeline once per engine (default duckdb; duckdb,spark)",
    )
    ap.add_argument("--out", default=str(REPO_ROOT / "bench_results"), help="where JSON and markdown go")
    ap.add_argument("--work", default=str(settings.data_dir / "bench"), help="root of the per-scale data folders")
    ap.add_argument("--seed", type=int, default=settings.seed)
    ap.add_argument("--keep-data", action="store_true", help="keep each scale's data folder (default: removed)")
    ap.add_argument("--reuse-data", action="store_true", help="reuse a kept landing folder of the same scale and seed")
    ap.add_argument("--skip-pipeline", action="store_true", help="only the generator and the references")
    ap.add_argument("--skip-refs", action="store_true", help="no floor, no pandas, no agreement check")
    ap.add_argument("--pandas-mem-gb", type=float, default=12.0, help="address-space cap of the pandas child (GB)")
    ap.add_argument(
        "--duckdb-memory", default=None, help="DuckDB memory_limit for pipeline and floor (default: config)"
    )
    ap.add_argument("--prepare", action="store_true", help="run `cli prepare` (dbt parse) first")
    # the reference child (internal)
    ap.add_argument("--ref", choices=("floor", "pandas"), help=argparse.SUPPRESS)
    ap.add_argument("--landing", help=argparse.SUPPRESS)
    ap.add_argument("--ref-out", help=argparse.SUPPRESS)
    ap.add_argument("--ref-temp", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.ref:
        return ref_main(
            args.ref,
            Path(args.landing),
            Path(args.ref_out),
            args.duckdb_memory,
            Path(args.ref_temp) if args.ref_temp else None,
        )

    missing = {e: why for e in args.engines if (why := engines.unavailable(e))}
    if missing and not args.skip_pipeline:
        ap.error("; ".join(f"engine {e}: {why}" for e, why in missing.items()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.prepare or not (DBT_PROJECT_DIR / "target" / "manifest.json").exists():
        subprocess.run([sys.executable, "-m", "ecom_platform.cli", "prepare"], cwd=REPO_ROOT, check=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    mach = machine()
    _say(f"scales {', '.join(f'{s:g}' for s in args.scales)} -> {out} (work root {args.work})")
    results = []
    for scale in args.scales:
        r = bench_scale(scale, args, stamp)
        r["machine"] = mach
        base = f"{stamp}-scale{scale:g}"
        (out / f"{base}.json").write_text(json.dumps(r, indent=2, default=str))
        (out / f"{base}.md").write_text(scale_markdown(r, mach))
        _say(f"scale {scale:g} written: {out / base}.json / .md")
        results.append(r)
        # rewrite the summary after every scale, so a long run leaves partial results
        summary = summary_markdown(results, mach, stamp)
        (out / f"{stamp}-summary.md").write_text(summary)
        (out / f"{stamp}-summary.json").write_text(
            json.dumps({"machine": mach, "targets": TARGETS, "results": results}, indent=2, default=str)
        )
        (out / "latest.md").write_text(summary)
    if args.engines[-1] != engines.DEFAULT and not args.skip_pipeline:
        # the last pipeline prepared dbt's shared manifest for its engine: back to this environment's
        subprocess.run([sys.executable, "-m", "ecom_platform.cli", "prepare"], cwd=REPO_ROOT, check=False)
    print(summary, flush=True)
    ok = all(r.get("agreement", {}).get("all_agree", True) for r in results) and engines.parity_ok(results)
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
