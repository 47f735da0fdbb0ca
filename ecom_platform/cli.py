"""Command line behind the Makefile: ``python -m ecom_platform.cli {prepare,generate,materialize,summary,run}``.

``run`` is what ``make run`` does: generate the default shop into the landing folder
(unless files are already there), prepare the dbt manifest, materialize every asset
headless in one Dagster run recorded in the local instance (so the UI shows it), and
print where everything is.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ecom_platform.config import DBT_PROJECT_DIR, Settings, get_settings

DAGSTER_YAML = Path(__file__).with_name("dagster.yaml")


def _say(msg: str) -> None:
    print(msg, flush=True)


def init_dagster_home(settings: Settings) -> Path:
    settings.export_for_dagster()
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_text() != DAGSTER_YAML.read_text():
        shutil.copyfile(DAGSTER_YAML, target)
    return home


def prepare(settings: Settings) -> None:
    """Parse the dbt project into target/manifest.json (done at build time, never at import)."""
    from dbt.cli.main import dbtRunner

    settings.export_for_dbt()
    t0 = time.perf_counter()
    res = dbtRunner().invoke(
        [
            "parse",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            settings.dbt_target,
        ]
    )
    if not res.success:
        raise SystemExit(f"dbt parse failed: {res.exception or 'see the messages above'}")
    _say(f"dbt manifest prepared: {DBT_PROJECT_DIR / 'target' / 'manifest.json'} ({time.perf_counter() - t0:.1f}s)")


def landing_has_data(settings: Settings) -> bool:
    from ecom_platform.lib.ingest import discover_files

    files, _ = discover_files(settings.landing_dir)
    return bool(files)


def check_user_landing(settings: Settings) -> None:
    """``make run LANDING=...``: the folder must hold the user's files in its source folders;
    nothing is generated into it. Exits with a message saying how to lay the files out."""
    from ecom_platform.lib.ingest import SOURCES, SUPPORTED_SUFFIXES, discover_files

    landing = settings.landing_dir
    layout = (
        f"expected {landing}/transactions/ with your order-line exports (required) and, optionally, "
        f"events/, products/ and customers/ beside it; file types {', '.join(SUPPORTED_SUFFIXES)}. "
        "See docs/your-data.md."
    )
    if not landing.is_dir():
        raise SystemExit(f"landing folder {landing} does not exist: {layout}")
    files, refused = discover_files(landing)
    for msg in refused:
        _say(f"  {msg}")
    loose = sorted(p.name for p in landing.iterdir() if p.is_file() and not p.name.startswith("."))
    unknown = sorted(
        p.name for p in landing.iterdir() if p.is_dir() and p.name not in SOURCES and not p.name.startswith((".", "_"))
    )
    if loose or unknown:
        _say(f"  not read (outside the source folders): {', '.join(loose + [u + '/' for u in unknown])}")
    if not any(f.source == "transactions" for f in files):
        raise SystemExit(f"no transactions file found in {landing}: {layout}")
    by_source = {}
    for f in files:
        by_source[f.source] = by_source.get(f.source, 0) + 1
    _say(f"your landing folder {landing}: " + ", ".join(f"{n} {s} file(s)" for s, n in sorted(by_source.items())))


def generate(settings: Settings, force: bool = False) -> None:
    from devtools.generator import generate as gen

    if landing_has_data(settings) and not force:
        _say(f"landing folder {settings.landing_dir} already holds files: not generating (use --force)")
        return
    _say(f"generating the shop at scale {settings.scale} (seed {settings.seed}) into {settings.landing_dir}")
    t0 = time.perf_counter()
    manifest = gen(settings.landing_dir, scale=settings.scale, seed=settings.seed, progress=_say)
    totals = {k: v for k, v in manifest.items() if k.endswith("_rows_written") or k == "totals"}
    _say(f"generated in {time.perf_counter() - t0:.1f}s {totals}")


def materialize(settings: Settings, selection: str = "*") -> bool:
    import dagster as dg

    init_dagster_home(settings)
    # Dagster's console logger prints every event once. dbt's telemetry library calls
    # logging.basicConfig() when dagster-dbt loads the adapter, which would print every
    # line a second time through the root logger; keep Dagster's records out of it.
    logging.getLogger("dagster").propagate = False
    from ecom_platform.definitions import build_defs

    defs = build_defs(settings)
    instance = dg.DagsterInstance.get()
    from ecom_platform.defs.runs import release_stale_runs

    release_stale_runs(instance, log=lambda msg: _say(f"  {msg}"))
    for holder in writer_slot_holders(instance):
        _say(f"  waiting for the single DuckDB writer: {holder} (Ctrl-C or SIGTERM stops this run)")
    # SIGTERM stops a run that waits for the writer (or works) the way Ctrl-C does
    signal.signal(signal.SIGTERM, _raise_interrupt)
    job = defs.resolve_implicit_global_asset_job_def()
    if selection != "*":
        job = dg.define_asset_job("ecom_cli_selection", selection=selection).resolve(
            asset_graph=defs.resolve_asset_graph()
        )
    _say(f"materializing {selection!r} (Dagster run recorded in {settings.dagster_home})")
    t0 = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )
    secs = time.perf_counter() - t0
    failed = [e for e in result.all_events if e.is_step_failure]
    checks_failed = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
    ]
    n_mat = len([e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"])
    n_chk = len([e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"])
    _say(f"run {result.run_id}: {n_mat} materializations, {n_chk} checks, {secs:.1f}s")
    for c in checks_failed:
        what = "check warned" if c.severity.value == "WARN" else "check failed"
        _say(f"  {what}: {c.asset_key.to_user_string()} {c.check_name} ({c.severity.value}): {c.description or ''}")
    for e in failed:
        _say(f"  step failed: {e.step_key}: {e.event_specific_data.error.message.strip().splitlines()[0][:300]}")
    return result.success


# what each optional input fills, for the summary's "not landed" lines
OPTIONAL_INPUTS = {
    "events": "the clickstream analyses (sessions, funnel, category popularity) and churn's web-activity features",
    "products": "product categories and brands (category charts and per-category forecasts)",
    "customers": "customer profiles (signup date, channel) used by churn and segments",
}


def _raise_interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt(f"signal {signum}")


def writer_slot_holders(instance) -> list[str]:
    """The live runs that hold a slot of the single-writer pool, one line each."""
    from ecom_platform.defs.resources import WRITER_POOL
    from ecom_platform.defs.runs import liveness_folder
    from ecom_platform.lib import run_liveness

    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    info = storage.get_concurrency_info(WRITER_POOL)
    out = []
    for run_id in sorted({s.run_id for s in info.claimed_slots}):
        run = instance.get_run_by_id(run_id)
        _, who = run_liveness.state(liveness_folder(instance), run_id)
        out.append(f"run {run_id} ({run.job_name if run else 'unknown'}, {who}) holds it")
    return out


def summary(settings: Settings) -> None:
    from ecom_platform.lib import model_status, warehouse

    path = settings.warehouse_path
    if not path.exists():
        _say(f"no warehouse at {path} yet")
        return
    with warehouse.connection(path, read_only=True) as con:
        counts = warehouse.table_counts(con)
        has_log = any(s == "raw" and t == "ingest_log" for s, t, _ in counts)
        log = (
            con.execute(
                "SELECT status, count(*), sum(rows_accepted), sum(rows_rejected) FROM raw.ingest_log GROUP BY 1 ORDER BY 1"
            ).fetchall()
            if has_log
            else []
        )
        landed = (
            {
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT source FROM raw.ingest_log WHERE status IN ('loaded', 'replaced')"
                ).fetchall()
            }
            if has_log
            else set()
        )
        statuses = model_status.read(con)
    missing_inputs = [(s, hint) for s, hint in OPTIONAL_INPUTS.items() if has_log and s not in landed]
    _say("")
    _say(f"Warehouse ({settings.env}): {path}  [{path.stat().st_size / 1e6:,.0f} MB]")
    if settings.engine == "spark":
        _say(f"dbt built on Spark: its tables in {settings.spark_root / 'warehouse'}, copied into the warehouse above")
    width = max((len(f"{s}.{t}") for s, t, _ in counts), default=10)
    current = None
    for schema, table, n in counts:
        if schema != current:
            current = schema
            _say(f"  {schema}")
        _say(f"    {f'{schema}.{table}':<{width}}  {n:>12,}")
    if log:
        _say(
            "Ingest log (raw.ingest_log): "
            + "; ".join(
                f"{status}: {files} files, {acc or 0:,} rows accepted, {rej or 0:,} quarantined"
                for status, files, acc, rej in log
            )
        )
    if statuses:
        _say("Models (ml.model_status):")
        for st in statuses:
            _say(f"  {model_status.line(st)}")
    if missing_inputs:
        _say("Optional inputs not landed (the analyses they fill stay empty):")
        for source, hint in missing_inputs:
            _say(
                f"  no {source} file has landed: drop {source} exports into {settings.landing_dir / source}/ "
                f"to fill {hint}"
            )
    from ecom_platform.lib.publish import stable_path

    bi_file = stable_path(settings.bi_dir)
    if bi_file.exists():
        _say(f"BI copy (read-only, for BI tools): {bi_file}")
    else:
        _say(f"BI copy: not published yet (a run that loads the data publishes it): {bi_file}")
    dash = settings.bi_dir / "dashboard.html"
    if dash.exists():
        _say(f"Dashboard: open file://{dash}")
    _say(f"Landing folder: {settings.landing_dir}")
    dev = (
        "make dev"
        if settings.landing_dir.resolve() == (settings.data_dir / "landing").resolve()
        else f"make dev LANDING={settings.landing_dir}"
    )
    if settings.engine == "spark":
        dev = f"ECOM_ENGINE=spark {dev}"

    _say(f"Dagster UI: `{dev}`, then open http://127.0.0.1:3000")


def models(settings: Settings, evaluate: bool = False) -> int:
    """Print each model's latest verdict and metrics (what the pipeline recorded). With
    ``evaluate``, retrain every model read-only on the warehouse with the function the assets
    call and check that it reproduces the recorded figures (exit 1 when one differs)."""
    from ecom_platform.lib import model_status, warehouse

    path = settings.warehouse_path
    if not path.exists():
        _say(f"no warehouse at {path} yet: run `make run` first")
        return 1
    with warehouse.connection(path, read_only=True) as con:
        statuses = {r["model"]: r for r in model_status.read(con)}
        candidates = model_status.latest_candidates(con)
    if not statuses:
        _say("no model has run yet (ml.model_status is empty): run `make run` first")
        return 1
    for name, st in statuses.items():
        _say(model_status.line(st))
        for row in candidates.get(name, []):
            _say(f"    {row}")
    if not evaluate:
        return 0
    from ecom_platform.lib.ml_runner import MODELS, train_model

    def connect():
        return warehouse.connection(
            path, read_only=True, memory_limit=settings.duckdb_memory_limit, threads=settings.duckdb_threads
        )

    differ = 0
    for m in MODELS:
        recorded = statuses.get(m.name, {}).get("metric_value")
        run = train_model(m, connect, settings.ml_max_customers, settings.duckdb_memory_limit).run
        value = run.metrics.get(run.primary_metric)
        same = (recorded is None and value is None) or (
            recorded is not None and value is not None and abs(float(value) - float(recorded)) <= 1e-9
        )
        differ += not same
        _say(
            f"re-evaluated {m.name}: {run.primary_metric} {value} "
            f"({'the same as recorded' if same else f'DIFFERS from the recorded {recorded}'})"
        )
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecom_platform.cli", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("init-home", help="create DAGSTER_HOME with the project's dagster.yaml")
    sub.add_parser("prepare", help="parse the dbt project into its manifest")
    g = sub.add_parser("generate", help="generate the default shop data into the landing folder")
    g.add_argument("--force", action="store_true", help="generate even if the landing folder has files")
    m = sub.add_parser("materialize", help="materialize assets headless")
    m.add_argument("--select", default="*", help="asset selection (default: everything)")
    sub.add_parser("summary", help="print tables, row counts and paths")
    mo = sub.add_parser("models", help="each model's verdict, champion and candidates against the naive baseline")
    mo.add_argument(
        "--evaluate",
        action="store_true",
        help="retrain every model read-only and check it reproduces the recorded figures",
    )
    r = sub.add_parser("run", help="generate (if needed), prepare, materialize everything, summarise")
    r.add_argument(
        "--no-generate",
        action="store_true",
        help="run on your own files in the landing folder (ECOM_LANDING); never generate",
    )
    args = parser.parse_args(argv)
    settings = get_settings()

    if args.cmd == "init-home":
        _say(f"DAGSTER_HOME ready: {init_dagster_home(settings)}")
    elif args.cmd == "prepare":
        prepare(settings)
    elif args.cmd == "generate":
        generate(settings, force=args.force)
    elif args.cmd == "materialize":
        return 0 if materialize(settings, args.select) else 1
    elif args.cmd == "summary":
        summary(settings)
    elif args.cmd == "models":
        return models(settings, evaluate=args.evaluate)
    elif args.cmd == "run":
        t0 = time.perf_counter()
        if args.no_generate:
            check_user_landing(settings)
        else:
            generate(settings)
        prepare(settings)
        ok = materialize(settings)
        # A fresh process: this one still holds dbt's in-process connection to the warehouse.
        subprocess.run([sys.executable, "-m", "ecom_platform.cli", "summary"], check=False)
        _say(f"\nmake run {'finished' if ok else 'FAILED'} in {time.perf_counter() - t0:.0f}s")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
