"""What each job runs (the landing refresh, the daily batch, the weekly retrain) and the schedules."""

import dagster as dg

from ecom_platform.contract import (
    BI_COPY_KEY,
    CHURN_KEYS,
    DASHBOARD_KEY,
    MODEL_METRICS_KEY,
    ON_REJECTED_TAG,
)
from ecom_platform.defs.automation.freshness import automation_checks
from ecom_platform.defs.automation.settings import (
    DAILY_BATCH_CRON,
    ML_GROUP,
    SCHEDULE_DEFAULT_STATUS,
    SCHEDULE_TIMEZONE,
    WEEKLY_RETRAIN_CRON,
)
from ecom_platform.defs.dbt import dbt_models

_freshness = dg.AssetSelection.checks(*automation_checks)


_ml = dg.AssetSelection.groups(ML_GROUP)


_bi_copy = dg.AssetSelection.assets(BI_COPY_KEY, DASHBOARD_KEY)


# What the landing sensor may run (it narrows it to what its files feed): every
# materializable asset but the ML models; never the freshness checks.
REFRESH_SELECTION = dg.AssetSelection.all().materializable() - _ml - _freshness


# The nightly batch: every dbt model rebuilt in full, the churn scores, the BI copy.
DAILY_BATCH_SELECTION = (
    dg.AssetSelection.assets(dbt_models) | dg.AssetSelection.assets(*CHURN_KEYS, MODEL_METRICS_KEY) | _bi_copy
) - _freshness


# The weekly retrain: every ML model, then a fresh BI copy and dashboard.
WEEKLY_RETRAIN_SELECTION = (_ml | _bi_copy) - _freshness


landing_refresh_job = dg.define_asset_job(
    "landing_refresh",
    selection=REFRESH_SELECTION,
    description="Run by `landing_sensor`: ingestion of the new files and everything downstream but ML.",
    tags={ON_REJECTED_TAG: "check"},
)


daily_batch_job = dg.define_asset_job(
    "daily_batch",
    selection=DAILY_BATCH_SELECTION,
    description="Nightly: every dbt model rebuilt in full, the churn scores, the BI copy.",
)


weekly_retrain_job = dg.define_asset_job(
    "weekly_retrain",
    selection=WEEKLY_RETRAIN_SELECTION,
    description="Weekly: retrain every ML model (each beside its baseline), then publish the BI copy.",
)


schedules = [
    dg.ScheduleDefinition(
        name="daily_batch_schedule",
        job=daily_batch_job,
        cron_schedule=DAILY_BATCH_CRON,
        execution_timezone=SCHEDULE_TIMEZONE,
        default_status=SCHEDULE_DEFAULT_STATUS,
        description="Every dbt model rebuilt in full, the churn scores and the BI copy every night (05:00 UTC).",
    ),
    dg.ScheduleDefinition(
        name="weekly_retrain_schedule",
        job=weekly_retrain_job,
        cron_schedule=WEEKLY_RETRAIN_CRON,
        execution_timezone=SCHEDULE_TIMEZONE,
        default_status=SCHEDULE_DEFAULT_STATUS,
        description="Retrain every ML model on Mondays (03:00 UTC), then publish the BI copy.",
    ),
]
