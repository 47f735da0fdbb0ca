"""The dbt project: its prepared manifest (never parsed on load), layers, the daily partitions."""

import dagster as dg
from dagster_dbt import DbtProject

from ecom_platform.config import DBT_PROJECT_DIR

# No settings here: the target (the environment) reaches dbt through dbt_resource(target),
# and build_defs(settings) exports the warehouse path that profiles.yml reads.
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


# The manifest is prepared at build time (`make prepare`, which `make dev` and `make run`
# run first; the test fixture), never parsed when the code location loads: a load stays
# fast and cannot fail on a dbt parse. After editing dbt files, run `make prepare` and
# reload the code location in the UI.

if not dbt_project.manifest_path.exists():
    raise FileNotFoundError(
        f"dbt manifest {dbt_project.manifest_path} is missing: run `make prepare` "
        "(it runs `dbt parse`) before loading the code location"
    )


LAYERS = ("staging", "intermediate", "marts", "bi")


# dbt invocation folders kept in target/ (the newest; older ones are deleted after each step)
KEEP_INVOCATION_FOLDERS = 10


# The models Dagster partitions by day (tagged in their config); everything else is rebuilt.
INCREMENTAL_SELECTOR = "tag:partitioned_daily"


# Early enough for the real UCI data (Online Retail II starts 2009-12-01) and the generated
# shop (2024-2025); end_offset=1 so today's partition exists for near-real-time drops.
PARTITIONS_START_DATE = "2009-12-01"


daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START_DATE, end_offset=1)
