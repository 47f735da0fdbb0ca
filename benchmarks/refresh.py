"""Measure sensor-triggered refreshes: latency of a new day, and incremental vs full cost.

    python -m benchmarks.refresh [--scale 1] [--seed 42] [--landing DIR] [--work DIR]
                                          [--json FILE]
    python -m benchmarks.refresh --scales 1,10 [--out bench_results]   (make bench-refresh)

With ``--scales``, each scale is measured in a child process of its own (its own work folder
``<work>/scale<S>``), and ``<out>/refresh-latest.json`` (plus a timestamped copy) gets one
entry per scale: ``scale``, ``full_rebuild_s``, ``new_day_s`` (from the sensor's tick to the
BI copy showing the day), ``fixed_s`` (what the new day costs whatever its data),
``new_rows`` (the held-out day's transactions and events), ``dbt_work_s``, ``new_day_cpu_s``
(the refresh's CPU seconds, this process and dbt's: steadier than elapsed time when the
machine is busy, so it shows smaller changes) and the child's whole result under ``detail``.

What it does, on its own warehouse under ``--work`` (default ``<data>/bench_refresh``):

1. Takes a landing folder (``--landing``, or the shop generated at ``--scale``) and holds
   out the last day of transactions and events as two daily files.
2. Builds the warehouse from the rest in one run of everything but the ML models, without
   a day window (every dbt model in full, one ``dbt build``): the **full rebuild**.
3. Drops the two daily files into the landing folder, evaluates ``landing_sensor`` until it
   requests a run (two looks: a file must be stable; the files are dated one sensor
   interval back, as a real sensor's second look finds them), and executes that run in process:
   ingestion, one ``dbt build`` with that day as its window, the marts, the BI layer, the BI copy.
   **Latency** = from the tick that requested the run to ``kpi_sales_daily``,
   ``customer_rfm`` and the published BI copy all showing the new day.
4. Reports the step times of both runs side by side and the ratios, prints a small table,
   writes JSON (``--json``, default ``<work>/bench_refresh.json``).

The run here is executed in process; under ``make dev`` the daemon also launches a process
for the run (loading the code location), reported as ``code_location_load_s``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import io
import json
import os  # load average and file times only (settings come from ecom_platform.config)
import resource
import shutil
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

from ecom_platform.contract import DAYS_TAG

DATE_HEADERS = {"transactions": ("invoicedate",), "events": ("eventtime",)}


def _say(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------- data
def _read_text(path: Path) -> tuple[str, str]:
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    for enc in ("utf-8", "latin-1"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise ValueError(f"{path}: undecodable")


def _day_of(value: str) -> str | None:
    value = value.strip()
    if len(value) >= 10 and value[4] == "-" and value[7] == "-":
        try:  # a malformed date ("2025-12-32", one of the generator's bad rows) is no day
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            return None
    for fmt in ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _norm(h: str) -> str:
    return "".join(ch for ch in h.lower() if ch.isalnum())


def _split_file(path: Path) -> tuple[list[str], list[list[str]], str, int]:
    text, enc = _read_text(path)
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    return header, rows[1:], enc, 0


def _date_index(source: str, header: list[str]) -> int:
    for i, h in enumerate(header):
        if _norm(h) in DATE_HEADERS[source]:
            return i
    raise ValueError(f"no date column in {header}")


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str, gz: bool) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue().encode(encoding)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(gzip.compress(data, compresslevel=6) if gz else data)
    tmp.replace(path)


def hold_out_last_day(landing: Path, holdout_dir: Path) -> dict:
    """Move the last day common to transactions and events out of ``landing`` into daily files."""
    latest: dict[str, tuple[str, Path]] = {}
    for source in ("transactions", "events"):
        files = sorted(p for p in (landing / source).glob("*.csv*") if not p.name.startswith((".", "_")))
        if not files:
            raise SystemExit(f"no CSV files under {landing / source}")
        latest[source] = ("", files[-1])
    # the last day present in both sources' last files
    days = {}
    parsed = {}
    for source, (_, path) in latest.items():
        header, rows, enc, _ = _split_file(path)
        idx = _date_index(source, header)
        parsed[source] = (path, header, rows, enc, idx)
        days[source] = {d for r in rows if len(r) > idx and (d := _day_of(r[idx]))}
    common = sorted(days["transactions"] & days["events"])
    if not common:
        raise SystemExit("the last transactions and events files share no day")
    day = common[-1]
    holdout_dir.mkdir(parents=True, exist_ok=True)
    out = {"day": day, "files": {}}
    for source, (path, header, rows, enc, idx) in parsed.items():
        keep = [r for r in rows if not (len(r) > idx and _day_of(r[idx]) == day)]
        held = [r for r in rows if len(r) > idx and _day_of(r[idx]) == day]
        _write_csv(path, header, keep, enc, gz=path.name.endswith(".gz"))
        target = holdout_dir / source / f"{source}_{day}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_csv(target, header, held, enc, gz=False)
        out["files"][source] = {"path": str(target), "rows": len(held), "month_file": path.name}
    return out


def prepare_landing(args, landing: Path) -> dict:
    if landing.exists():
        shutil.rmtree(landing)
    if args.landing:
        shutil.copytree(args.landing, landing, ignore=shutil.ignore_patterns("_*", ".*"))
        return {"source": str(args.landing)}
    from devtools.generator import generate

    t0 = time.perf_counter()
    manifest = generate(landing, scale=args.scale, seed=args.seed, progress=None)
    return {
        "source": f"generator scale={args.scale} seed={args.seed}",
        "seconds": time.perf_counter() - t0,
        "files": len(manifest.get("files", [])),
    }


# ---------------------------------------------------------------------------- runs
def step_seconds(instance, result) -> dict[str, float]:
    out = {}
    for stat in instance.get_run_step_stats(result.run_id):
        if stat.start_time and stat.end_time:
            out[stat.step_key] = round(stat.end_time - stat.start_time, 2)
    return out


def overheads(instance, result) -> dict:
    """Where a run's time goes besides the work itself, from its event log.

    - ``run_start_s``: from the run's first event (its plan: one event per planned asset and
      check) to the run starting;
    - per dbt step: ``before_dbt_s`` (step start to dbt launched), ``dbt_start_s`` (dbt
      process time minus dbt's own ``elapsed_time`` in run_results.json: interpreter, parse
      cache, connection), ``dbt_work_s`` (that elapsed time: models and tests), ``after_dbt_s``
      (dbt finished to step end: row counts and one Dagster event per model and per check);
    - ``fixed_s``: everything but ``dbt_work_s`` in the dbt steps, plus the run start.
    """
    logs = instance.all_logs(result.run_id)
    first = logs[0].timestamp if logs else None
    start = next(
        (
            e.timestamp
            for e in logs
            if e.dagster_event and e.dagster_event.event_type_value in ("RUN_START", "PIPELINE_START")
        ),
        None,
    )
    steps: dict[str, dict] = {}
    for e in logs:
        key, msg = e.step_key, e.message or ""
        if not key or not key.startswith("dbt_"):
            continue
        s = steps.setdefault(key, {})
        etype = e.dagster_event.event_type_value if e.dagster_event else None
        if etype == "STEP_START":
            s["start"] = e.timestamp
        elif etype == "STEP_SUCCESS":
            s["end"] = e.timestamp
        elif msg.startswith("Copying `") and "partial_parse.msgpack` to `" in msg:
            s["target"] = Path(msg.split("` to `", 1)[1].split("`", 1)[0]).parent
        elif msg.startswith("Running dbt command"):
            s["launched"] = e.timestamp
        elif msg.startswith("Finished dbt command"):
            s["finished"] = e.timestamp
    out: dict = {"run_start_s": round(start - first, 2) if start and first else None, "dbt_steps": {}}
    fixed = out["run_start_s"] or 0.0
    for key, s in steps.items():
        if not all(k in s for k in ("start", "end", "launched", "finished")):
            continue
        elapsed = None
        results = s.get("target", Path("/nonexistent")) / "run_results.json"
        if results.exists():
            elapsed = json.loads(results.read_text()).get("elapsed_time")
        process = s["finished"] - s["launched"]
        row = {
            "before_dbt_s": round(s["launched"] - s["start"], 2),
            "dbt_start_s": round(process - elapsed, 2) if elapsed is not None else None,
            "dbt_work_s": round(elapsed, 2) if elapsed is not None else None,
            "after_dbt_s": round(s["end"] - s["finished"], 2),
        }
        out["dbt_steps"][key] = row
        fixed += row["before_dbt_s"] + row["after_dbt_s"] + (row["dbt_start_s"] or 0.0)
    out["fixed_s"] = round(fixed, 2)
    return out


def _failures(result) -> list[str]:
    return [
        f"{e.step_key}: {e.event_specific_data.error.message[:500]}" for e in result.all_events if e.is_step_failure
    ]


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user + system) so far: this process, and its finished subprocesses (dbt)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def execute(defs, instance, keys, check_keys, tags, name: str):
    """Run ``keys`` in process; returns the result, its seconds and its CPU seconds (this
    process: Dagster, ingestion, the BI copy; subprocesses: dbt). CPU time moves less than
    elapsed time with what else the machine does, so it shows smaller changes."""
    import dagster as dg

    selection = dg.AssetSelection.assets(*keys).without_checks()
    if check_keys:
        selection = selection | dg.AssetSelection.checks(*check_keys)
    job = dg.define_asset_job(name, selection=selection).resolve(asset_graph=defs.resolve_asset_graph())
    from ecom_platform.config import get_settings

    log = get_settings().data_dir / f"{name}.log"
    t0, (own0, sub0) = time.perf_counter(), _cpu_seconds()
    with open(log, "w") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        result = job.execute_in_process(
            instance=instance,
            tags=tags,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    seconds, (own1, sub1) = time.perf_counter() - t0, _cpu_seconds()
    return result, seconds, {"in_process": round(own1 - own0, 2), "subprocesses": round(sub1 - sub0, 2)}


def warehouse_state(path: Path, day: str) -> dict:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        kpi = con.execute(
            "SELECT count(*), sum(revenue) FROM marts.kpi_sales_daily WHERE sales_day = ?", [day]
        ).fetchone()
        rfm = con.execute("SELECT count(*), sum(frequency), sum(monetary) FROM marts.customer_rfm").fetchone()
        lines = con.execute("SELECT count(*) FROM marts.fct_order_lines WHERE invoice_day = ?", [day]).fetchone()[0]
        events = con.execute("SELECT count(*) FROM marts.fct_events WHERE event_day = ?", [day]).fetchone()[0]
    return {
        "kpi_rows_for_day": kpi[0],
        "kpi_revenue_for_day": str(kpi[1]) if kpi[1] is not None else None,
        "customer_rfm": {"customers": rfm[0], "sum_frequency": rfm[1], "sum_monetary": str(rfm[2])},
        "fct_order_lines_for_day": lines,
        "fct_events_for_day": events,
    }


def bi_copy_state(bi_dir: Path, day: str) -> dict:
    import duckdb

    path = bi_dir / "ecom_bi.duckdb"
    if not path.exists():
        return {"published": False}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
        }
        n = None
        if "bi.sales_daily" in tables:
            cols = {
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema='bi' AND table_name='sales_daily'"
                ).fetchall()
            }
            col = next((c for c in ("sales_date", "sales_day", "date_day") if c in cols), None)
            if col:
                n = con.execute(
                    f"SELECT count(*) FROM bi.sales_daily WHERE cast({col} AS varchar) = ?", [day]
                ).fetchone()[0]
    manifest = bi_dir / "manifest.json"
    version = json.loads(manifest.read_text()).get("version") if manifest.exists() else None
    return {"published": True, "version": version, "sales_daily_rows_for_day": n}


def code_location_load_seconds(env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import ecom_platform.definitions"],
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def _group(steps: dict[str, float]) -> dict[str, float]:
    out = {
        "ingestion": 0.0,
        "dbt": 0.0,
        "bi copy + dashboard": 0.0,
        "other": 0.0,
    }
    for step, s in steps.items():
        if step.startswith("raw__"):
            out["ingestion"] += s
        elif step.startswith("dbt_models"):
            out["dbt"] += s
        elif step.startswith("bi_copy"):
            out["bi copy + dashboard"] += s
        else:
            out["other"] += s
    return {k: round(v, 2) for k, v in out.items()}


# ---------------------------------------------------------------------------- several scales
def summary_entry(scale: float, result: dict) -> dict:
    """The figures ``refresh-latest.json`` keeps for one scale, from one child's result."""
    ro = result["overheads_refresh"]
    return {
        "scale": scale,
        "full_rebuild_s": result["full_rebuild_s"],
        "new_day_s": result["latency_from_tick_s"],
        "fixed_s": ro["fixed_s"],
        "new_rows": sum(result["held_out_rows"].values()),
        "dbt_work_s": round(sum(r["dbt_work_s"] or 0 for r in ro["dbt_steps"].values()), 2),
        "new_day_cpu_s": round(sum(result["refresh_cpu_s"].values()), 2),
        "tables_updated": result["tables_updated"],
        "detail": result,
    }


def run_scales(scales: list[float], args) -> int:
    """Each scale in a child process (a fresh Dagster instance and settings), then one JSON."""
    from ecom_platform.config import get_settings

    work = (args.work or get_settings().data_dir / "bench_refresh").resolve()
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    entries, failed = [], []
    for scale in scales:
        child_json = work / f"scale{scale:g}.json"
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.refresh",
            "--scale",
            f"{scale:g}",
            "--work",
            str(work / f"scale{scale:g}"),
        ]
        cmd += ["--json", str(child_json)]
        if args.seed is not None:
            cmd += ["--seed", str(args.seed)]
        _say(f"=== scale {scale:g}: {' '.join(cmd[1:])}")
        work.mkdir(parents=True, exist_ok=True)
        child_json.unlink(missing_ok=True)
        rc = subprocess.run(cmd, check=False).returncode
        if rc != 0 or not child_json.exists():
            failed.append(scale)
            _say(f"scale {scale:g}: the refresh bench failed (rc {rc})")
            continue
        entries.append(summary_entry(scale, json.loads(child_json.read_text())))
    report = {
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "scales": entries,
    }
    if len(entries) >= 2 and entries[0]["new_day_s"]:
        report["new_day_ratio_last_to_first"] = round(entries[-1]["new_day_s"] / entries[0]["new_day_s"], 2)
    text = json.dumps(report, indent=2, default=str)
    (out_dir / "refresh-latest.json").write_text(text)
    (out_dir / f"refresh-{datetime.now():%Y%m%dT%H%M%S}.json").write_text(text)
    _say("")
    _say(
        f"{'scale':>6} {'full rebuild (s)':>17} {'new day (s)':>12} {'fixed (s)':>10} {'dbt work (s)':>13} "
        f"{'new day CPU (s)':>16} {'new rows':>10}"
    )
    for e in entries:
        _say(
            f"{e['scale']:>6g} {e['full_rebuild_s']:>17.1f} {e['new_day_s']:>12.1f} {e['fixed_s']:>10.1f} "
            f"{e['dbt_work_s']:>13.1f} {e['new_day_cpu_s']:>16.1f} {e['new_rows']:>10,}"
        )
    if "new_day_ratio_last_to_first" in report:
        _say(
            f"new day, scale {entries[-1]['scale']:g} against {entries[0]['scale']:g}: {report['new_day_ratio_last_to_first']}x"
        )
    _say(f"results: {out_dir / 'refresh-latest.json'}")
    return 1 if failed or not all(e["tables_updated"] for e in entries) else 0


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.refresh", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default=None, help="comma-separated scales, each in a child (make bench-refresh)")
    parser.add_argument("--out", type=Path, default=Path("bench_results"), help="where refresh-latest.json goes")
    parser.add_argument("--scale", type=float, default=None, help="generator scale (default: ECOM_SCALE)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--landing", type=Path, default=None, help="copy this landing folder instead of generating")
    parser.add_argument("--work", type=Path, default=None, help="bench folder (default <data>/bench_refresh)")
    parser.add_argument("--json", type=Path, default=None, help="where to write the results")
    parser.add_argument("--interval", type=float, default=None, help="sensor interval assumed for 'from drop' (s)")
    args = parser.parse_args(argv)
    if args.scales:
        return run_scales([float(x) for x in args.scales.split(",") if x.strip()], args)

    from ecom_platform.config import environment_for_subprocess, get_settings, override_environment

    base = get_settings()
    args.scale = args.scale if args.scale is not None else base.scale
    args.seed = args.seed if args.seed is not None else base.seed
    work = (args.work or base.data_dir / "bench_refresh").resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    landing, holdout = work / "landing", work / "holdout"
    settings = override_environment(
        ECOM_DATA_DIR=work,
        ECOM_LANDING=landing,
        ECOM_WAREHOUSE=work / "dev" / "warehouse.duckdb",
        ECOM_BI_DIR=work / "dev" / "bi",
        DAGSTER_HOME=work / "dagster_home",
    )
    settings.export_for_dbt()
    from ecom_platform.cli import init_dagster_home, prepare

    init_dagster_home(settings)  # the project's dagster.yaml: the single-writer pool
    # As `make dev` does: the manifest (and dbt's partial-parse state) prepared with this
    # environment's profile, else every dbt invocation would re-parse the project in full.
    prepare(settings)

    load_start = os.getloadavg()
    _say(
        f"bench folder {work}; load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} on {os.cpu_count()} cores"
    )
    data = prepare_landing(args, landing)
    held = hold_out_last_day(landing, holdout)
    day = held["day"]
    _say(
        f"data: {data['source']}; held out {day}: "
        + ", ".join(f"{s} {f['rows']:,} rows" for s, f in held["files"].items())
    )

    import dagster as dg

    from ecom_platform.definitions import build_defs
    from ecom_platform.defs import automation

    defs = build_defs(settings)
    graph = defs.resolve_asset_graph()
    instance = dg.DagsterInstance.get()
    sensor = defs.resolve_sensor_def("landing_sensor")
    sensor_resources = {"landing": defs.resources["landing"], "warehouse": defs.resources["warehouse"]}
    interval = args.interval if args.interval is not None else automation.LANDING_SENSOR_INTERVAL_SECONDS

    # 1. the full rebuild: everything but ML, no day window (every model in full)
    sel = automation.REFRESH_SELECTION
    full_keys = [k for k in sel.resolve(graph) if graph.get(k).is_executable]
    full_checks = list(sel.resolve_checks(graph))
    _say(f"full rebuild: {len(full_keys)} assets, {len(full_checks)} checks ...")
    full, full_s, full_cpu = execute(defs, instance, full_keys, full_checks, {}, "bench_full_rebuild")
    if _failures(full):
        _say("full rebuild failed:\n" + "\n".join(_failures(full)))
        return 1
    full_steps = step_seconds(instance, full)
    full_overheads = overheads(instance, full)
    _say(f"full rebuild done in {full_s:.1f}s")
    before = warehouse_state(settings.warehouse_path, day)
    bi_before = bi_copy_state(settings.bi_dir, day)

    # 2. the sensor's baseline: the folder as it is now is already taken
    def tick(cursor: str | None):
        # the warehouse resource is a context manager: the sensor's context must be opened
        with dg.build_sensor_context(
            instance=instance, definitions=defs, resources=sensor_resources, cursor=cursor
        ) as ctx:
            return sensor.evaluate_tick(ctx)

    first = tick(None)
    second = tick(first.cursor)
    cursor = second.cursor
    # pretend these were taken: only the new day should trigger
    if second.run_requests:
        _say("baseline: the sensor adopted the existing files (their run is the full rebuild above)")

    # 3. drop the day. The looks below come back to back, but a real sensor's looks are
    # `interval` seconds apart: the look that requests the run sees the files at least that
    # old. Dated now, they would look like a copy still in progress and make the ingestion
    # wait its settle time (lib/stability.py), which a run requested by a real sensor never does.
    dropped_at = time.time() - interval
    for source, f in held["files"].items():
        src = Path(f["path"])
        tmp = landing / source / (src.name + ".part")
        shutil.copy(src, tmp)
        os.utime(tmp, (dropped_at, dropped_at))
        tmp.replace(landing / source / src.name)
    ticks, request, t_tick = 0, None, None
    while request is None and ticks < 5:
        ticks += 1
        t_tick = time.perf_counter()
        res = tick(cursor)
        cursor = res.cursor
        if res.run_requests:
            request = res.run_requests[0]
    if request is None:
        _say("the sensor requested no run")
        return 1
    tick_eval_s = time.perf_counter() - t_tick
    _say(
        f"sensor: run requested at look {ticks} (key {request.run_key[:60]}...), "
        f"{len(request.asset_selection)} assets, window {request.tags.get(DAYS_TAG)}"
    )
    refresh, refresh_s, refresh_cpu = execute(
        defs, instance, request.asset_selection, request.asset_check_keys, dict(request.tags), "bench_refresh"
    )
    t_done = time.perf_counter()
    if _failures(refresh):
        _say("refresh failed:\n" + "\n".join(_failures(refresh)))
        return 1
    refresh_steps = step_seconds(instance, refresh)
    refresh_overheads = overheads(instance, refresh)
    after = warehouse_state(settings.warehouse_path, day)
    bi_after = bi_copy_state(settings.bi_dir, day)
    load_s = code_location_load_seconds(environment_for_subprocess())

    full_g, refresh_g = _group(full_steps), _group(refresh_steps)
    dbt_full, dbt_day = full_g["dbt"], refresh_g["dbt"]
    latency_tick = t_done - t_tick
    results = {
        "data": data,
        "held_out_day": day,
        "held_out_rows": {s: f["rows"] for s, f in held["files"].items()},
        "sensor_interval_s": interval,
        "sensor_looks_until_run": ticks,
        "sensor_tick_eval_s": round(tick_eval_s, 2),
        "latency_from_tick_s": round(latency_tick, 1),
        "latency_from_tick_with_run_launch_s": round(latency_tick + load_s, 1),
        "latency_from_drop_worst_case_s": round(latency_tick + load_s + 2 * interval, 1),
        "code_location_load_s": round(load_s, 1),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
        "full_rebuild_s": round(full_s, 1),
        "refresh_run_s": round(refresh_s, 1),
        "full_rebuild_cpu_s": full_cpu,
        "refresh_cpu_s": refresh_cpu,
        "steps_full": full_steps,
        "steps_refresh": refresh_steps,
        "overheads_full": full_overheads,
        "overheads_refresh": refresh_overheads,
        "fixed_share_of_full_rebuild": round(refresh_overheads["fixed_s"] / full_s, 3) if full_s else None,
        "by_stage_full": full_g,
        "by_stage_refresh": refresh_g,
        "ratio_dbt": round(dbt_day / dbt_full, 3) if dbt_full else None,
        "ratio_run": round(refresh_s / full_s, 3) if full_s else None,
        "before": before,
        "after": after,
        "bi_copy_before": bi_before,
        "bi_copy_after": bi_after,
        "day_window": request.tags.get(DAYS_TAG),
        "tables_updated": bool(after["kpi_rows_for_day"])
        and bool(after["fct_order_lines_for_day"])
        and after["customer_rfm"] != before["customer_rfm"]
        and (not bi_after.get("published") or bool(bi_after.get("sales_daily_rows_for_day"))),
    }
    out = args.json or work / "bench_refresh.json"
    out.write_text(json.dumps(results, indent=2, default=str))

    _say("")
    _say(f"{'stage':<30} {'full rebuild (s)':>17} {'new day (s)':>12} {'ratio':>7}")
    for stage in full_g:
        f, r = full_g[stage], refresh_g[stage]
        ratio = f"{r / f:.1%}" if f else "-"
        _say(f"{stage:<30} {f:>17.1f} {r:>12.1f} {ratio:>7}")
    _say(f"{'whole run':<30} {full_s:>17.1f} {refresh_s:>12.1f} {refresh_s / full_s:>7.1%}")
    ro = refresh_overheads
    work = sum(r["dbt_work_s"] or 0 for r in ro["dbt_steps"].values())
    _say(
        f"new day, fixed costs whatever the data: {ro['fixed_s']:.1f}s ({ro['fixed_s'] / full_s:.1%} of the full "
        f"rebuild): run start {ro['run_start_s']}s; per dbt step (before dbt / dbt start-up / after dbt): "
        + "; ".join(
            f"{k} {r['before_dbt_s']}/{r['dbt_start_s']}/{r['after_dbt_s']}s" for k, r in ro["dbt_steps"].items()
        )
        + f". dbt's own work (models and tests): {work:.1f}s"
    )
    _say(
        f"CPU seconds: new day {refresh_cpu['in_process']}s in process + {refresh_cpu['subprocesses']}s in dbt; "
        f"full rebuild {full_cpu['in_process']}s + {full_cpu['subprocesses']}s"
    )
    _say("")
    _say(
        f"new day {day}: {after['fct_order_lines_for_day']:,} order lines, {after['fct_events_for_day']:,} events "
        f"(before: {before['fct_order_lines_for_day']:,} / {before['fct_events_for_day']:,}); "
        f"kpi_sales_daily rows for the day: {after['kpi_rows_for_day']}; "
        f"BI copy version {bi_before.get('version')} -> {bi_after.get('version')}"
    )
    _say(
        f"latency from the sensor tick to kpi_sales_daily, customer_rfm and the BI copy updated: "
        f"{latency_tick:.1f}s in process; + {load_s:.1f}s for the daemon to launch the run process "
        f"= {latency_tick + load_s:.1f}s (from the drop, add up to 2 sensor intervals of {interval:.0f}s)"
    )
    _say(f"results: {out}")
    return 0 if results["tables_updated"] else 1


if __name__ == "__main__":
    sys.exit(main())
