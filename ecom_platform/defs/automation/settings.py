"""Automation settings: sensor intervals, schedules' crons, default statuses, freshness windows."""

import dagster as dg

from ecom_platform.lib import landing_watch

LANDING_SENSOR_INTERVAL_SECONDS = 15


FRESHNESS_SENSOR_INTERVAL_SECONDS = 300


AUTOMATION_SENSOR_INTERVAL_SECONDS = 30


MAX_FILES_PER_RUN = landing_watch.DEFAULT_MAX_FILES_PER_RUN


DAILY_BATCH_CRON = "0 5 * * *"


WEEKLY_RETRAIN_CRON = "0 3 * * 1"


SCHEDULE_TIMEZONE = "UTC"


# "Drop a file and everything catches up by itself": under `make dev` the daemon runs the
# sensors and schedules from the start (each can be stopped in the UI).
SENSOR_DEFAULT_STATUS = dg.DefaultSensorStatus.RUNNING


SCHEDULE_DEFAULT_STATUS = dg.DefaultScheduleStatus.RUNNING


# Freshness: a daily shop drops transactions and events at least once a day; profiles and
# the catalogue at least once a week. The BI-facing tables must be rebuilt at least daily.
SOURCE_FRESHNESS_HOURS = {"transactions": 26, "events": 26, "customers": 8 * 24, "products": 8 * 24}


BI_FRESHNESS_HOURS = 26


ML_GROUP = "ml"
