{#-
    The raw sources on Spark. Python ingestion writes the DuckDB file's raw.* and, on the
    Spark engine, one Parquet file per landing file under ECOM_SPARK_RAW/<table>/
    (ecom_platform/lib/engine/raw_parquet.py). Before every dbt invocation (on-run-start)
    each source table of `raw` is declared anew as an external Parquet table over its folder:
    dropping an external table keeps its files, and the new declaration reads the folder's
    columns and files as they are now. DuckDB reads raw.* in place: nothing to do there.
-#}
{% macro register_raw_sources() -%}
  {{ return(adapter.dispatch('register_raw_sources')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
  {{ return('') }}
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
  {%- if execute -%}
    {%- set root = env_var('ECOM_SPARK_RAW') -%}
    {#- asked first: the metastore logs an error with a stack trace for "if not exists" on an existing one -#}
    {%- if run_query("show databases like 'raw'") | length == 0 -%}
      {%- do run_query('create database raw') -%}
    {%- endif -%}
    {%- for source in graph.sources.values() | selectattr('source_name', 'equalto', 'raw') | sort(attribute='identifier') -%}
      {%- do run_query('drop table if exists raw.' ~ source.identifier) -%}
      {%- do run_query("create table raw." ~ source.identifier ~ " using parquet location '" ~ root ~ "/" ~ source.identifier ~ "'") -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return('') }}
{%- endmacro %}

{#-
    A post-hook of every mart (dbt_project.yml): on Spark, a partitioned table's columns as one
    Parquet file without rows, under ECOM_SPARK_DIR/schemas/<schema>.<table>/. A partitioned
    table with no rows has no data file to read its columns from, and the DuckDB file still
    needs the table (ecom_platform/lib/engine/spark_tables.py). Nothing on DuckDB, nothing for
    a table that is not partitioned (its files always carry the columns).
-#}
{% macro spark_schema_file() -%}
  {{ return(adapter.dispatch('spark_schema_file')()) }}
{%- endmacro %}

{% macro default__spark_schema_file() -%}
  {{ return('') }}
{%- endmacro %}

{% macro spark__spark_schema_file() -%}
  {%- if model.config.get('partition_by') -%}
    insert overwrite directory '{{ env_var("ECOM_SPARK_DIR") }}/schemas/{{ this.schema }}.{{ this.identifier }}'
    using parquet select * from {{ this }} limit 0
  {%- endif -%}
{%- endmacro %}
