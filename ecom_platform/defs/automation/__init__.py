"""Automation: the landing sensor, schedules, declarative automation, freshness, failure log.

``definitions.py`` adds ``automation_assets``, ``automation_checks``, ``jobs``, ``schedules``
and ``sensors`` to the code location. One file each: ``settings`` (intervals, crons,
freshness windows), ``landing`` (the landing sensor), ``selections`` (jobs, schedules),
``freshness``, ``failures`` (the failure log).

- ``landing_sensor``: a new or changed file in ``landing/<source>/`` (stable for two looks)
  starts ONE run of ``landing_refresh``: the ingestion of the sources concerned and
  everything downstream but the ML models (which are on schedules), in one ``dbt build``:
  the daily facts over the days the files touch (the run's day window), the marts, the BI
  layer and the BI copy.
  The decisions are pure (:mod:`ecom_platform.lib.landing_watch`); ``landing`` only lists
  the folder and turns a decision into a ``RunRequest``. Its first look (empty cursor)
  starts from ``raw.ingest_log``: files already loaded (by `make run`) request nothing.
- ``daily_batch_schedule`` (05:00 UTC): ``daily_batch`` = every dbt model rebuilt in full,
  the churn scores and the BI copy. ``weekly_retrain_schedule`` (Monday 03:00 UTC):
  ``weekly_retrain`` = every ML model, then the BI copy.
- Declarative automation: the dbt models but the daily facts are eager on their inputs (set by
  the translator in defs/dbt/translator.py), evaluated by ``default_automation_condition_sensor``.
- Freshness checks on the raw sources and the BI-facing tables, run by
  ``freshness_checks_sensor``.
- ``record_run_failures`` (every failed run) and ``record_failed_checks`` (failed checks of
  successful runs: a rejected landing file, a stale table) request a ``record_failures``
  run whose one step, in the single-writer pool, writes the rows into the warehouse table
  ``ops.run_failures`` (:mod:`ecom_platform.lib.failure_log`).
"""

from ecom_platform.defs.automation.failures import (
    automation_assets,
    record_failed_checks,
    record_failures_job,
    record_run_failures,
)
from ecom_platform.defs.automation.freshness import automation_checks, freshness_checks_sensor
from ecom_platform.defs.automation.landing import default_automation_condition_sensor, landing_sensor
from ecom_platform.defs.automation.selections import (
    REFRESH_SELECTION,
    daily_batch_job,
    landing_refresh_job,
    schedules,
    weekly_retrain_job,
)
from ecom_platform.defs.automation.settings import LANDING_SENSOR_INTERVAL_SECONDS

jobs = [landing_refresh_job, daily_batch_job, weekly_retrain_job, record_failures_job]


sensors = [
    landing_sensor,
    default_automation_condition_sensor,
    freshness_checks_sensor,
    record_run_failures,
    record_failed_checks,
]

__all__ = [
    "LANDING_SENSOR_INTERVAL_SECONDS",
    "REFRESH_SELECTION",
    "automation_assets",
    "automation_checks",
    "jobs",
    "record_failures_job",
    "record_run_failures",
    "schedules",
    "sensors",
]
