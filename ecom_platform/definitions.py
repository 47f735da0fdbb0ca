"""The Dagster code location: assembles defs/ into one Definitions object."""

import dagster as dg

from ecom_platform.config import Settings, get_settings


def build_defs(settings: Settings) -> dg.Definitions:
    """Definitions bound to one environment's warehouse and landing folder (tests pass their own)."""
    # imported here, not at the top: importing this module does no work (the dbt assets
    # read the manifest, the automation builds its selections)
    from ecom_platform.defs import automation, runs
    from ecom_platform.defs.bi import bi_assets
    from ecom_platform.defs.dbt import dbt_models, dbt_resource
    from ecom_platform.defs.ingestion import audit_specs, ingestion_assets, landing_specs
    from ecom_platform.defs.ml import ml_assets_defs
    from ecom_platform.defs.resources import build_resources

    settings.export_for_dbt()
    return dg.Definitions(
        assets=[
            *landing_specs,
            *ingestion_assets,
            *audit_specs,
            dbt_models,
            *ml_assets_defs,
            *bi_assets,
            *automation.automation_assets,
        ],
        asset_checks=automation.automation_checks,
        jobs=automation.jobs,
        schedules=automation.schedules,
        sensors=[*automation.sensors, runs.build_stale_run_janitor(settings.run_history_days)],
        resources=build_resources(settings, dbt_resource(settings.dbt_target)),
        # Steps of one run share the single DuckDB writer, so run them one after another
        # in one process (cheaper than a process per step on a 2-core laptop). Across
        # runs the `duckdb_writer` pool (limit 1 in dagster.yaml) serialises writers.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location, built when Dagster loads it (workspace.yaml), not at import."""
    return build_defs(get_settings())
