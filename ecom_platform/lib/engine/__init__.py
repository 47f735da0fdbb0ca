"""The engines the dbt project runs on, and what moves data between them and the DuckDB file.

- ``duckdb`` (the default): dbt builds inside the DuckDB warehouse; nothing here is used.
- ``spark``: the DuckDB file stays the ingestion ledger (exactly-once per landing file,
  lineage, quarantine) and the serving copy for ML, the BI copy and the dashboard. Between
  them dbt builds on Spark: :mod:`.raw_parquet` gives Spark the accepted raw rows (one
  Parquet file per landing file) and :mod:`.spark_tables` brings the models Spark built back
  into the DuckDB file.
"""

ENGINES = ("duckdb", "spark")
