"""How dbt nodes become Dagster assets: keys, groups, and the eager automation of the models."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from ecom_platform.defs.dbt.project import LAYERS


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

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        """Models follow their inputs (eager); the daily facts are kept by the landing
        sensor's day windows instead (eager, a dimension's update would rebuild them in
        full), and seeds only change with the code."""
        if dbt_resource_props["resource_type"] != "model":
            return None
        if "partitioned_daily" in (dbt_resource_props.get("tags") or []):
            return None
        return EAGER_ON_INPUTS


# Eager on the inputs, without eager()'s "no dependency missing" clause: an input's update
# rebuilds a model even when another of its inputs was never materialized in this Dagster
# instance (a new instance on an existing warehouse): the table is dbt's to find or fail on.
EAGER_ON_INPUTS = (
    dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing()).with_label("eager_on_inputs")
)


translator = EcomDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=False)
)
