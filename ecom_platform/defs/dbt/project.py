"""The dbt project: its prepared manifest (never parsed on load), layers."""

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
