"""The dbt CLI resource, without two fixed costs of every dbt step (the version subprocess, the unused adapter)."""

import gc
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version

from ecom_platform.config import DBT_PROJECT_DIR
from ecom_platform.defs.dbt.project import dbt_project


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


# dagster-dbt opens a dbt adapter in this process before every invocation (parsing every
# macro, seconds the first time in a process), used only to read column metadata.
_ADAPTER_WANTED: ContextVar[bool] = ContextVar("ecom_dbt_adapter_wanted", default=True)


@contextmanager
def _dbt_adapter(wanted: bool):
    token = _ADAPTER_WANTED.set(wanted)
    try:
        yield
    finally:
        _ADAPTER_WANTED.reset(token)


class EcomDbtCliResource(DbtCliResource):
    """``DbtCliResource`` without two fixed costs of every dbt step that a sensor run pays.

    - The dbt version: dagster-dbt runs ``dbt --version`` in a subprocess (over a second) once per
      resource; the dbt beside this interpreter is the dbt-core imported here, so its version
      is read in process. Any other executable keeps dagster-dbt's way.
    - The in-process dbt adapter, which only column metadata uses (row counts are ours, see
      :func:`_with_metadata`): not opened when the run skips column metadata.

    Both override private methods of dagster-dbt 0.29 (pinned in constraints.txt);
    tests/unit/test_dbt_resource.py fails if they stop being called.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == Path(sys.executable).with_name("dbt"):
            from dbt.version import __version__ as dbt_core_version

            return version.parse(dbt_core_version)
        return DbtCliResource._cli_version.func(self)

    def _initialize_dbt_core_adapter(self, args):
        if not _ADAPTER_WANTED.get():
            return None
        return super()._initialize_dbt_core_adapter(args)


def dbt_resource(target: str) -> DbtCliResource:
    """The dbt CLI resource for ``target`` (profiles.yml: dev, staging or prod on DuckDB, or spark)."""
    # The dbt installed beside this interpreter (the venv's), whether or not .venv/bin is on PATH.
    executable = Path(sys.executable).with_name("dbt")
    return EcomDbtCliResource(
        project_dir=dbt_project,
        profiles_dir=str(DBT_PROJECT_DIR),
        target=target,
        dbt_executable=str(executable) if executable.exists() else "dbt",
    )
