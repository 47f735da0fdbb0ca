"""The dbt resource's two shortcuts (defs/dbt/resource.py, EcomDbtCliResource) still hook into dagster-dbt."""

import inspect

import pytest
from dagster_dbt import DbtCliResource
from packaging import version


def test_the_dbt_version_is_read_in_process_not_by_running_dbt(monkeypatch, dbt_manifest):
    import dagster_dbt.core.resource as resource_module
    from dbt.version import __version__

    from ecom_platform.defs.dbt import dbt_resource

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"dbt was started to read its version: {args}")

    monkeypatch.setattr(resource_module, "check_output", no_subprocess)
    assert dbt_resource("dev")._cli_version == version.parse(__version__)
    # dagster-dbt reads the version through this attribute when it starts dbt
    assert "self._cli_version" in inspect.getsource(DbtCliResource.cli)


def test_the_adapter_is_opened_only_when_column_metadata_wants_it(monkeypatch, dbt_manifest):
    from ecom_platform.defs.dbt import resource as dbt_defs

    opened = []
    monkeypatch.setattr(
        DbtCliResource, "_initialize_dbt_core_adapter", lambda self, args: opened.append(args) or "adapter"
    )
    resource = dbt_defs.dbt_resource("dev")
    with dbt_defs._dbt_adapter(False):
        assert resource._initialize_dbt_core_adapter(["build"]) is None
    assert opened == []
    with dbt_defs._dbt_adapter(True):
        assert resource._initialize_dbt_core_adapter(["build"]) == "adapter"
    assert resource._initialize_dbt_core_adapter(["ls"]) == "adapter"  # the default: wanted
    assert opened == [["build"], ["ls"]]
    # dagster-dbt still opens its adapter through this method
    assert "self._initialize_dbt_core_adapter(" in inspect.getsource(DbtCliResource.cli)


@pytest.mark.parametrize("name", ["_cli_version", "_initialize_dbt_core_adapter"])
def test_the_overridden_members_exist_upstream(name):
    assert hasattr(DbtCliResource, name)
