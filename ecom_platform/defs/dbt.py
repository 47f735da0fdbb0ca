"""dbt wiring: one DbtProject, one translator, dbt tests surfaced as asset checks."""


import gc
import sys
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from ecom_platform.config import DBT_PROJECT_DIR, get_settings
from ecom_platform.defs.resources import WRITER_POOL

_settings = get_settings()
_settings.export_for_dbt()

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=_settings.env)
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


class EcomDbtTranslator(DagsterDbtTranslator):
    """Models keyed ``<schema>/<name>``; groups by layer; sources map to the raw assets."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        rtype = dbt_resource_props["resource_type"]
        if rtype in ("model", "seed", "snapshot"):
            schema = dbt_resource_props.get("schema") or "main"
            # The alias is the table name BI tools see (bi_sales_daily -> bi.sales_daily).
            name = dbt_resource_props.get("alias") or dbt_resource_props["name"]
            return dg.AssetKey([schema, name])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        fqn = dbt_resource_props.get("fqn", [])
        for part in fqn[1:]:
            if part in LAYERS:
                return part
        return "dbt"


translator = EcomDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=False)
)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=WRITER_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build` over the selected models: runs, seeds, tests (as checks), row counts, column lineage."""
    try:
        yield from dbt.cli(["build"], context=context).stream().fetch_row_counts().fetch_column_metadata()
    finally:
        release_adapter_connection()


def release_adapter_connection() -> None:
    """Close the read-only DuckDB handle dagster-dbt opened in this process for column metadata.

    Left open, it pins the warehouse file in this process with a read-only configuration,
    and every later step of the same run (ML, publish) could not open it for writing.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None and hasattr(env, "close"):
        env.close()
    DuckDBConnectionManager.close_all_connections()
    gc.collect()


def dbt_resource() -> DbtCliResource:
    # The dbt installed beside this interpreter (the venv's), whether or not .venv/bin is on PATH.
    executable = Path(sys.executable).with_name("dbt")
    return DbtCliResource(
        project_dir=dbt_project,
        profiles_dir=str(DBT_PROJECT_DIR),
        target=_settings.env,
        dbt_executable=str(executable) if executable.exists() else "dbt",
    )
