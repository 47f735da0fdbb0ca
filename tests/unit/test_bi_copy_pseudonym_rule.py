"""The `bi_copy/warehouse` asset enforces the pseudonym-key rule at publish time.

dev without a key publishes the shop's own ids; staging or prod without
ECOM_BI_PSEUDONYM_KEY fails the step with a message naming the variable and the env, and
publishes nothing; prod with a key publishes HMAC pseudonyms only.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from ecom_platform.lib import publish
from tests.integration.conftest_bi import CUSTOMER_IDS, make_warehouse

KEY = "unit-test-key-kept-outside-the-repo"


@pytest.fixture
def shop(tmp_path, monkeypatch, dbt_manifest):
    """A small warehouse at <data>/<env>/warehouse.duckdb and the env pointing at it."""
    data = tmp_path / "data"
    monkeypatch.setenv("ECOM_DATA_DIR", str(data))
    for var in ("ECOM_WAREHOUSE", "ECOM_BI_DIR", "ECOM_BI_PSEUDONYM_KEY"):
        monkeypatch.delenv(var, raising=False)

    def build(env: str, key: str | None = None):
        monkeypatch.setenv("ECOM_ENV", env)
        if key:
            monkeypatch.setenv("ECOM_BI_PSEUDONYM_KEY", key)
        wh = make_warehouse(data / env / "warehouse.duckdb")
        return wh, data / env / "bi"

    return build


def _publish(wh) -> dg.ExecuteInProcessResult:
    from ecom_platform.config import get_settings
    from ecom_platform.defs.bi import bi_copy
    from ecom_platform.defs.resources import WarehouseResource

    return dg.materialize(
        [bi_copy],
        resources={"warehouse": WarehouseResource(path=str(wh)), "settings": get_settings()},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _published(bi_dir):
    con = duckdb.connect(str(publish.stable_path(bi_dir)), read_only=True)
    try:
        ids = {r[0] for r in con.execute("SELECT customer_id FROM bi.customer_rfm").fetchall()}
        info = con.execute("SELECT pseudonymised, pseudonym_key_id, source_warehouse FROM meta.publish_info").fetchone()
    finally:
        con.close()
    return ids, info


def test_dev_without_a_key_publishes_the_shop_ids(shop):
    wh, bi_dir = shop("dev")
    result = _publish(wh)
    assert result.success
    ids, info = _published(bi_dir)
    assert ids == set(CUSTOMER_IDS)
    assert info == (False, None, "dev/warehouse.duckdb")  # relative to the data dir, no host path


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_staging_or_prod_without_a_key_fails_and_publishes_nothing(shop, env):
    wh, bi_dir = shop(env)
    result = _publish(wh)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    msg = failure.event_specific_data.error.message
    assert "ECOM_BI_PSEUDONYM_KEY is not set" in msg
    assert f"ECOM_ENV={env} requires it" in msg
    assert publish.current_version(bi_dir) is None
    assert not publish.stable_path(bi_dir).exists()


def test_prod_with_a_key_publishes_pseudonyms_only(shop):
    wh, bi_dir = shop("prod", key=KEY)
    result = _publish(wh)
    assert result.success
    ids, info = _published(bi_dir)
    assert ids == {publish.pseudonym(i, KEY) for i in CUSTOMER_IDS}
    assert not ids & set(CUSTOMER_IDS)
    assert info == (True, publish.key_fingerprint(KEY), "prod/warehouse.duckdb")
    mat = result.asset_materializations_for_node("bi_copy__warehouse")[0]
    assert mat.metadata["pseudonymised"].value is True
