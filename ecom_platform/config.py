"""The one module that reads environment variables.

Everything else asks :func:`get_settings`. Defaults put all state under ``data/`` in
the repository, one warehouse file per environment (dev / staging / prod), so the
three never share a file.

| variable              | meaning                                   | default                               |
|-----------------------|-------------------------------------------|---------------------------------------|
| ``ECOM_ENV``          | dev, staging or prod                      | ``dev``                               |
| ``ECOM_ENGINE``       | what dbt builds on: duckdb or spark (docs/spark.md) | ``duckdb``                  |
| ``ECOM_SPARK_MEMORY`` | local Spark's driver memory (the Spark engine)       | ``4g``                      |
| ``ECOM_DATA_DIR``     | root of all local state                   | ``<repo>/data``                       |
| ``ECOM_WAREHOUSE``    | the live DuckDB file (dbt and Dagster)    | ``<data>/<env>/warehouse.duckdb``     |
| ``ECOM_LANDING``      | folder the ingestion reads                | ``<data>/landing``                    |
| ``ECOM_BI_DIR``       | where the published BI copy goes          | ``<data>/<env>/bi``                   |
| ``ECOM_SCALE``        | size of the generated shop (1 ≈ 1M lines) | ``1``                                 |
| ``ECOM_SEED``         | generator seed                            | ``42``                                |
| ``ECOM_DUCKDB_MEMORY``| DuckDB memory_limit                       | ``4GB``                               |
| ``ECOM_DUCKDB_THREADS``| DuckDB threads                           | all cores                             |
| ``ECOM_MAX_QUARANTINE_RATE`` | check threshold (fraction of rows) | ``0.01``                              |
| ``ECOM_BI_PSEUDONYM_KEY`` | secret for keyed-hash customer ids in the BI copy (required in staging and prod) | unset: ids kept (dev only) |
| ``ECOM_LOCK_WAIT_SECONDS`` | how long a writer waits for another process (a BI tool on the live file) to let go of the warehouse | ``300`` |
| ``ECOM_ML_MAX_CUSTOMERS`` | customers the churn, segmentation and recommendation models train on (a fixed sample by ``customer_key`` above it); every customer is still scored | ``50000`` |
| ``ECOM_RUN_HISTORY_DAYS`` | finished runs older than this are deleted from the Dagster instance once every asset value and check result they hold has a newer one (``0``: keep every run) | ``30`` |
| ``DAGSTER_HOME``      | Dagster instance folder (runs, logs)      | ``<data>/dagster_home``               |

Set by the code for its children, never by users: ``ECOM_WAREHOUSE``, ``ECOM_DUCKDB_MEMORY``,
``ECOM_DBT_TARGET`` and ``ECOM_SPARK_*`` for dbt (:meth:`Settings.export_for_dbt`), ``ECOM_DBT_WINDOW_START`` / ``ECOM_DBT_WINDOW_END``
and ``ECOM_DBT_NEW_ROWS_RUN_ID`` for one dbt process (:func:`dbt_run_environment`).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from ecom_platform.contract import DUCKDB_MEMORY_DEFAULT, ML_MAX_CUSTOMERS_DEFAULT, SPARK_MEMORY_DEFAULT
from ecom_platform.lib.engine import ENGINES
from ecom_platform.lib.schemas import DEFAULT_RANGES, Ranges

# LightGBM / scikit-learn use OpenMP; with the default (active) wait policy, idle threads
# spin and training gets up to ~10x slower when another process shares the 2 cores. It
# must be set before the OpenMP runtime loads; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
ENVIRONMENTS = ("dev", "staging", "prod")
# Environments whose BI copy must pseudonymise customer ids: publishing there without
# ECOM_BI_PSEUDONYM_KEY fails (Settings.bi_pseudonym_key_for_publish).
PSEUDONYM_REQUIRED_ENVS = ("staging", "prod")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    env: str
    data_dir: Path
    warehouse_path: Path
    landing_dir: Path
    bi_dir: Path
    scale: float
    seed: int
    duckdb_memory_limit: str
    duckdb_threads: int | None
    max_quarantine_rate: float
    dagster_home: Path
    bi_pseudonym_key: str | None = None
    ml_max_customers: int = ML_MAX_CUSTOMERS_DEFAULT
    lock_wait_seconds: float = 300.0
    run_history_days: float = 30.0
    ingest_ranges: Ranges = DEFAULT_RANGES
    engine: str = "duckdb"
    spark_memory: str = SPARK_MEMORY_DEFAULT

    @property
    def env_dir(self) -> Path:
        return self.warehouse_path.parent

    @property
    def dbt_target(self) -> str:
        """The profiles.yml output dbt builds with: the environment's DuckDB file, or `spark`."""
        return "spark" if self.engine == "spark" else self.env

    @property
    def spark_root(self) -> Path:
        """The Spark engine's folder beside the warehouse file: ``metastore_db/``, ``warehouse/``
        (its tables), ``raw/`` (the raw Parquet), ``schemas/``."""
        return self.env_dir / "spark"

    @property
    def bi_pseudonymisation_required(self) -> bool:
        return self.env in PSEUDONYM_REQUIRED_ENVS

    def bi_pseudonym_key_for_publish(self) -> str | None:
        """The key the BI publish must use. In staging and prod a missing key is an error
        (the copy would expose the real customer ids); in dev ``None`` (ids copied as they are)."""
        if self.bi_pseudonym_key is None and self.bi_pseudonymisation_required:
            raise ConfigError(
                f"ECOM_BI_PSEUDONYM_KEY is not set, but ECOM_ENV={self.env} requires it: the BI copy of "
                f"{' and '.join(PSEUDONYM_REQUIRED_ENVS)} must pseudonymise customer ids. Set "
                "ECOM_BI_PSEUDONYM_KEY to a long random secret kept outside the repository (see docs/bi.md, "
                "Pseudonymisation); nothing was published."
            )
        return self.bi_pseudonym_key

    def export_for_dbt(self) -> None:
        """dbt's profiles.yml reads these: make sure they point where we do."""
        os.environ["ECOM_WAREHOUSE"] = str(self.warehouse_path)
        os.environ["ECOM_DUCKDB_MEMORY"] = self.duckdb_memory_limit
        os.environ["ECOM_DBT_TARGET"] = self.dbt_target
        os.environ["ECOM_SPARK_MEMORY"] = self.spark_memory
        os.environ["ECOM_SPARK_DIR"] = str(self.spark_root)
        os.environ["ECOM_SPARK_RAW"] = str(self.spark_root / "raw")
        os.environ["ECOM_SPARK_LOG4J"] = str(DBT_PROJECT_DIR / "spark" / "log4j2.properties")

    def export_for_dagster(self) -> None:
        """Dagster's instance reads ``DAGSTER_HOME``."""
        os.environ["DAGSTER_HOME"] = str(self.dagster_home)


# What Dagster tells the one dbt process it starts, read by the macros only while executing
# (dbt_project/macros/day_window.sql and new_rows.sql): the day window of the incremental
# models, and the run whose newly ingested rows the staging tests check.
DBT_RUN_ENV = {
    "window_start_date": "ECOM_DBT_WINDOW_START",
    "window_end_date": "ECOM_DBT_WINDOW_END",
    "new_rows_run_id": "ECOM_DBT_NEW_ROWS_RUN_ID",
    "marts_window": "ECOM_DBT_MARTS_WINDOW",
}


@contextlib.contextmanager
def dbt_run_environment(values: dict[str, str | None]):
    """Expose ``values`` (keys of :data:`DBT_RUN_ENV`) to the dbt processes started inside.

    Through the environment and not ``--vars``: dbt re-parses the whole project whenever
    its vars change (seconds per run); the macros read these variables only when
    executing, so the parsed manifest never depends on them. A key without a value is
    removed, so a stale value can never leak into another build.
    """
    saved = {name: os.environ.get(name) for name in DBT_RUN_ENV.values()}
    try:
        for key, name in DBT_RUN_ENV.items():
            if values.get(key):
                os.environ[name] = values[key]
            else:
                os.environ.pop(name, None)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _float(name: str, default: str) -> float:
    raw = os.environ.get(name, default)
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


def _positive_int(name: str, default: str) -> int:
    raw = os.environ.get(name, default)
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value <= 0:
        raise ConfigError(f"{name}={value} must be > 0")
    return value


def _secret(name: str) -> str | None:
    """A secret from the environment, used as given; unset, empty or blank means none."""
    raw = os.environ.get(name)
    return raw if raw and raw.strip() else None


def get_settings() -> Settings:
    env = os.environ.get("ECOM_ENV", "dev").strip().lower()
    if env not in ENVIRONMENTS:
        raise ConfigError(f"ECOM_ENV={env!r}: expected one of {', '.join(ENVIRONMENTS)}")
    data_dir = Path(os.environ.get("ECOM_DATA_DIR") or REPO_ROOT / "data").resolve()
    warehouse = Path(os.environ.get("ECOM_WAREHOUSE") or data_dir / env / "warehouse.duckdb").resolve()
    landing = Path(os.environ.get("ECOM_LANDING") or data_dir / "landing").resolve()
    bi_dir = Path(os.environ.get("ECOM_BI_DIR") or warehouse.parent / "bi").resolve()
    scale = _float("ECOM_SCALE", "1")
    if scale <= 0:
        raise ConfigError(f"ECOM_SCALE={scale} must be > 0")
    seed_raw = os.environ.get("ECOM_SEED", "42")
    try:
        seed = int(seed_raw)
    except ValueError:
        raise ConfigError(f"ECOM_SEED={seed_raw!r} is not an integer") from None
    engine = os.environ.get("ECOM_ENGINE", "duckdb").strip().lower() or "duckdb"
    if engine not in ENGINES:
        raise ConfigError(f"ECOM_ENGINE={engine!r}: expected one of {', '.join(ENGINES)}")
    threads_raw = os.environ.get("ECOM_DUCKDB_THREADS")
    threads = int(threads_raw) if threads_raw else None
    return Settings(
        env=env,
        data_dir=data_dir,
        warehouse_path=warehouse,
        landing_dir=landing,
        bi_dir=bi_dir,
        scale=scale,
        seed=seed,
        duckdb_memory_limit=os.environ.get("ECOM_DUCKDB_MEMORY", DUCKDB_MEMORY_DEFAULT),
        duckdb_threads=threads,
        max_quarantine_rate=_float("ECOM_MAX_QUARANTINE_RATE", "0.01"),
        dagster_home=Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home").resolve(),
        bi_pseudonym_key=_secret("ECOM_BI_PSEUDONYM_KEY"),
        ml_max_customers=_positive_int("ECOM_ML_MAX_CUSTOMERS", str(ML_MAX_CUSTOMERS_DEFAULT)),
        lock_wait_seconds=_float("ECOM_LOCK_WAIT_SECONDS", "300"),
        run_history_days=_float("ECOM_RUN_HISTORY_DAYS", "30"),
        ingest_ranges=_ranges(),
        engine=engine,
        spark_memory=os.environ.get("ECOM_SPARK_MEMORY", SPARK_MEMORY_DEFAULT).strip() or SPARK_MEMORY_DEFAULT,
    )


def _ranges() -> Ranges:
    """The ingestion range rules (:class:`~ecom_platform.lib.schemas.Ranges`) from the environment."""
    d = DEFAULT_RANGES
    min_date = os.environ.get("ECOM_MIN_DATE", d.min_date).strip()
    try:
        import datetime as _dt

        _dt.date.fromisoformat(min_date)
    except ValueError:
        raise ConfigError(f"ECOM_MIN_DATE={min_date!r} is not a date (YYYY-MM-DD)") from None
    return Ranges(
        max_quantity=_positive_int("ECOM_MAX_QUANTITY", str(d.max_quantity)),
        max_price=_float("ECOM_MAX_PRICE", str(d.max_price)),
        min_date=min_date,
        max_days_ahead=_positive_int("ECOM_MAX_DAYS_AHEAD", str(d.max_days_ahead)),
    )


def override_environment(**values: str | Path) -> Settings:
    """Set ``ECOM_*`` / ``DAGSTER_HOME`` variables for this process (and its children) and
    return the resulting settings; used by tools that run on their own state (the refresh
    benchmark)."""
    allowed = {
        "ECOM_DATA_DIR",
        "ECOM_LANDING",
        "ECOM_WAREHOUSE",
        "ECOM_BI_DIR",
        "DAGSTER_HOME",
        "ECOM_SCALE",
        "ECOM_SEED",
    }
    unknown = set(values) - allowed
    if unknown:
        raise ConfigError(f"cannot override {sorted(unknown)}: expected some of {sorted(allowed)}")
    os.environ.update({k: str(v) for k, v in values.items()})
    return get_settings()


def environment_for_subprocess() -> dict[str, str]:
    """A copy of this process's environment, for a child process that must see the same settings."""
    return dict(os.environ)
