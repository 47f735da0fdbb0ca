"""Freshness checks on the raw sources and the BI-facing tables, and the sensor that runs them."""

import datetime as dt
import warnings

import dagster as dg

from ecom_platform.contract import (
    BI_COPY_KEY,
    BI_FACING_MARTS,
    raw_key,
)
from ecom_platform.defs.automation.settings import (
    BI_FRESHNESS_HOURS,
    FRESHNESS_SENSOR_INTERVAL_SECONDS,
    SENSOR_DEFAULT_STATUS,
    SOURCE_FRESHNESS_HOURS,
)
from ecom_platform.defs.dbt import dbt_models

# Freshness *checks* (not the preview FreshnessPolicy): they are asset checks, so a stale
# table fails a check that the failure log records like any other.
BI_FACING_KEYS = sorted(
    {*BI_FACING_MARTS, *(k for k in dbt_models.keys if k.path[0] == "bi"), BI_COPY_KEY}, key=lambda k: k.path
)


with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=dg.SupersessionWarning if hasattr(dg, "SupersessionWarning") else Warning)
    _source_checks = [
        check
        for source, hours in SOURCE_FRESHNESS_HOURS.items()
        for check in dg.build_last_update_freshness_checks(
            assets=[raw_key(source)],
            lower_bound_delta=dt.timedelta(hours=hours),
            severity=dg.AssetCheckSeverity.WARN,
        )
    ]
    _bi_checks = dg.build_last_update_freshness_checks(
        assets=BI_FACING_KEYS,
        lower_bound_delta=dt.timedelta(hours=BI_FRESHNESS_HOURS),
        severity=dg.AssetCheckSeverity.ERROR,
    )
    automation_checks = [*_source_checks, *_bi_checks]
    freshness_checks_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=automation_checks,
        minimum_interval_seconds=FRESHNESS_SENSOR_INTERVAL_SECONDS,
        name="freshness_checks_sensor",
        default_status=SENSOR_DEFAULT_STATUS,
    )
