{#- Fails with one row per column of `columns` that holds NULLs: the column's name and its
    number of NULL rows.

    A model's not-null columns in one test, where dbt's `not_null` is one test per column:
    one pass over the model instead of one per column, and one dbt node and one Dagster
    asset check per model instead of one per column (each node costs about 50 ms of dbt's
    time in every refresh; figures: docs/benchmarks.md, Measured choices). Scoped like the
    other row tests (its `where` config, a run's new rows or its day window:
    macros/new_rows.sql). -#}
{% test not_null_columns(model, columns) %}
with null_counts as (

    select
    {%- for column in columns %}
        count(case when {{ column }} is null then 1 end) as null_rows_{{ loop.index }}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ model }}

)

{% for column in columns -%}
select '{{ column }}' as column_name, null_rows_{{ loop.index }} as null_rows
from null_counts
where null_rows_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif -%}
{% endfor %}
{% endtest %}
