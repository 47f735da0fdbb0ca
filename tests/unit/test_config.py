import pytest

from ecom_platform import config


def test_defaults_put_each_environment_in_its_own_file(monkeypatch, tmp_path):
    monkeypatch.setenv("ECOM_DATA_DIR", str(tmp_path))
    for var in ("ECOM_WAREHOUSE", "ECOM_LANDING", "ECOM_BI_DIR", "ECOM_SCALE", "DAGSTER_HOME"):
        monkeypatch.delenv(var, raising=False)
    paths = {}
    for env in config.ENVIRONMENTS:
        monkeypatch.setenv("ECOM_ENV", env)
        s = config.get_settings()
        paths[env] = s.warehouse_path
        assert s.warehouse_path == tmp_path / env / "warehouse.duckdb"
        assert s.landing_dir == tmp_path / "landing"
        assert s.bi_dir == tmp_path / env / "bi"
        assert s.scale == 1.0
    assert len(set(paths.values())) == 3


def test_one_variable_drives_dbt_and_dagster(monkeypatch, tmp_path):
    target = tmp_path / "elsewhere.duckdb"
    monkeypatch.setenv("ECOM_WAREHOUSE", str(target))
    s = config.get_settings()
    assert s.warehouse_path == target
    s.export_for_dbt()
    import os

    assert os.environ["ECOM_WAREHOUSE"] == str(target)
    profiles = (config.DBT_PROJECT_DIR / "profiles.yml").read_text()
    assert "env_var('ECOM_WAREHOUSE')" in profiles


@pytest.mark.parametrize(
    "var, value, message",
    [
        ("ECOM_ENV", "qa", "ECOM_ENV='qa': expected one of dev, staging, prod"),
        ("ECOM_SCALE", "big", "ECOM_SCALE='big' is not a number"),
        ("ECOM_SCALE", "0", "ECOM_SCALE=0.0 must be > 0"),
        ("ECOM_SEED", "x", "ECOM_SEED='x' is not an integer"),
        ("ECOM_ML_MAX_CUSTOMERS", "10k", "ECOM_ML_MAX_CUSTOMERS='10k' is not an integer"),
        ("ECOM_ML_MAX_CUSTOMERS", "2.5", "ECOM_ML_MAX_CUSTOMERS='2.5' is not an integer"),
        ("ECOM_ML_MAX_CUSTOMERS", "0", "ECOM_ML_MAX_CUSTOMERS=0 must be > 0"),
        ("ECOM_ML_MAX_CUSTOMERS", "-5", "ECOM_ML_MAX_CUSTOMERS=-5 must be > 0"),
    ],
)
def test_bad_values_are_named(monkeypatch, var, value, message):
    monkeypatch.setenv(var, value)
    with pytest.raises(config.ConfigError) as err:
        config.get_settings()
    assert str(err.value) == message


def test_only_config_reads_the_environment():
    root = config.REPO_ROOT
    offenders = []
    for folder in ("ecom_platform", "ml_assets"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text()
            if path.name != "config.py" and ("os.environ" in text or "os.getenv" in text):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_dbt_run_variables_are_set_for_the_block_only_and_never_leak(monkeypatch):
    import os

    start, end, run = (config.DBT_RUN_ENV[k] for k in ("window_start_date", "window_end_date", "new_rows_run_id"))
    monkeypatch.setenv(start, "1999-01-01")  # a stale value from elsewhere
    monkeypatch.delenv(end, raising=False)
    monkeypatch.delenv(run, raising=False)
    with config.dbt_run_environment(
        {"window_start_date": "2024-01-02", "window_end_date": "2024-01-04", "new_rows_run_id": "abc"}
    ):
        assert (os.environ[start], os.environ[end], os.environ[run]) == ("2024-01-02", "2024-01-04", "abc")
    assert (os.environ.get(start), os.environ.get(end), os.environ.get(run)) == ("1999-01-01", None, None)
    # no values (an unpartitioned build): none is visible inside, not even a stale one
    with config.dbt_run_environment({"window_start_date": None}):
        assert start not in os.environ and end not in os.environ and run not in os.environ
    assert os.environ[start] == "1999-01-01"
    macros = "".join(p.read_text() for p in (config.DBT_PROJECT_DIR / "macros").glob("*.sql"))
    assert all(f"'{name}'" in macros for name in (start, end, run))


def test_ml_max_customers_defaults_to_50000_and_reaches_the_ml_resource(monkeypatch):
    from ecom_platform.defs.resources import build_resources

    monkeypatch.delenv("ECOM_ML_MAX_CUSTOMERS", raising=False)
    assert config.get_settings().ml_max_customers == 50_000
    monkeypatch.setenv("ECOM_ML_MAX_CUSTOMERS", " 1000 ")
    settings = config.get_settings()
    assert settings.ml_max_customers == 1000
    assert build_resources(settings, None)["ml"].max_customers == 1000
