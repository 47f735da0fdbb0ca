{#- Fails with one row per column of `columns` that holds NULLs: the column's name and its
    number of NULL rows.

    A model's not-null columns in one test, where dbt's `not_null` is one test per column:
    one dbt node and one Dagster asset check per model instead of one per column (each node
    costs about 50 ms of dbt's time in every refresh; figures: docs/benchmarks.md, Measured
    choices). Each column's NULLs are counted by a scan filtered on that column being NULL:
    DuckDB skips every row group whose statistics say it holds no NULL, so a table without
    NULLs is not read at all (a CASE counted over every row read every row: 0.37 s for the
    session state's 15M rows at scale 10). Scoped like the other row tests (its `where`
    config, a run's new rows or its day window: macros/new_rows.sql). -#}
{% test not_null_columns(model, columns) %}
{% for column in columns -%}
select column_name, null_rows
from (
    select '{{ column }}' as column_name, count(*) as null_rows
    from {{ model }}
    where {{ column }} is null
) as null_count_{{ loop.index }}
where null_rows > 0
{% if not loop.last %}union all
{% endif -%}
{% endfor %}
{% endtest %}
