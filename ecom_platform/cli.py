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
        ["parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target", settings.env]
    )
    if not res.success:
        raise SystemExit(f"dbt parse failed: {res.exception or 'see the messages above'}")
    _say(f"dbt manifest prepared: {DBT_PROJECT_DIR / 'target' / 'manifest.json'} ({time.perf_counter() - t0:.1f}s)")


def landing_has_data(settings: Settings) -> bool:
    from ecom_platform.lib.ingest import discover_files

    files, _ = discover_files(settings.landing_dir)
    return bool(files)


def generate(settings: Settings, force: bool = False) -> None:
    from ecom_platform.lib.generator import generate as gen

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
        _say(f"  check failed: {c.asset_key.to_user_string()} {c.check_name} ({c.severity.value}): {c.description or ''}")
    for e in failed:
        _say(f"  step failed: {e.step_key}: {e.event_specific_data.error.message.strip().splitlines()[0][:300]}")
    return result.success


def summary(settings: Settings) -> None:
    from ecom_platform.lib import warehouse

    path = settings.warehouse_path
    if not path.exists():
        _say(f"no warehouse at {path} yet")
        return
    with warehouse.connection(path, read_only=True) as con:
        counts = warehouse.table_counts(con)
        log = con.execute(
            "SELECT status, count(*), sum(rows_accepted), sum(rows_rejected) FROM raw.ingest_log GROUP BY 1 ORDER BY 1"
        ).fetchall() if any(s == "raw" and t == "ingest_log" for s, t, _ in counts) else []
    _say("")
    _say(f"Warehouse ({settings.env}): {path}  [{path.stat().st_size / 1e6:,.0f} MB]")
    width = max((len(f"{s}.{t}") for s, t, _ in counts), default=10)
    current = None
    for schema, table, n in counts:
        if schema != current:
            current = schema
            _say(f"  {schema}")
        _say(f"    {f'{schema}.{table}':<{width}}  {n:>12,}")
    if log:
        _say("Ingest log (raw.ingest_log): " + "; ".join(
            f"{status}: {files} files, {acc or 0:,} rows accepted, {rej or 0:,} quarantined"
            for status, files, acc, rej in log
        ))
    from ecom_platform.lib.publish import stable_path

    bi_file = stable_path(settings.bi_dir)
    if bi_file.exists():
        _say(f"BI copy (read-only, for BI tools): {bi_file}")
    else:
        _say(f"BI copy: not published yet (it is published once every model passes its checks): {bi_file}")
    dash = settings.bi_dir / "dashboard.html"
    if dash.exists():
        _say(f"Dashboard: open file://{dash}")
    _say(f"Landing folder: {settings.landing_dir}")
    _say("Dagster UI: `make dev`, then open http://127.0.0.1:3000")


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
    sub.add_parser("run", help="generate (if needed), prepare, materialize everything, summarise")
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
    elif args.cmd == "run":
        t0 = time.perf_counter()
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
