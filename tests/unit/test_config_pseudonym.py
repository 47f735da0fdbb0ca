"""The pseudonym-key rule: the BI copy of staging and prod must pseudonymise customer ids."""

from __future__ import annotations

import pytest

from ecom_platform import config


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("ECOM_DATA_DIR", str(tmp_path))
    for var in ("ECOM_WAREHOUSE", "ECOM_BI_DIR", "ECOM_BI_PSEUDONYM_KEY", "ECOM_ENV"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_dev_may_publish_without_a_key(env):
    s = config.get_settings()
    assert s.env == "dev" and not s.bi_pseudonymisation_required
    assert s.bi_pseudonym_key_for_publish() is None


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_staging_and_prod_without_a_key_are_refused_naming_the_variable_and_env(env, name):
    env.setenv("ECOM_ENV", name)
    s = config.get_settings()  # loading settings still works: only publishing is refused
    assert s.bi_pseudonymisation_required
    with pytest.raises(config.ConfigError) as err:
        s.bi_pseudonym_key_for_publish()
    msg = str(err.value)
    assert "ECOM_BI_PSEUDONYM_KEY is not set" in msg
    assert f"ECOM_ENV={name} requires it" in msg


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_key_counts_as_missing(env, blank):
    env.setenv("ECOM_ENV", "prod")
    env.setenv("ECOM_BI_PSEUDONYM_KEY", blank)
    with pytest.raises(config.ConfigError, match="ECOM_BI_PSEUDONYM_KEY"):
        config.get_settings().bi_pseudonym_key_for_publish()


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_a_configured_key_is_used_in_every_env(env, name):
    env.setenv("ECOM_ENV", name)
    env.setenv("ECOM_BI_PSEUDONYM_KEY", "s3cret-key-from-a-secret-store")
    assert config.get_settings().bi_pseudonym_key_for_publish() == "s3cret-key-from-a-secret-store"
