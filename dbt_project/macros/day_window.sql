{#-
    Incremental readiness for the day-grained facts (fct_order_lines, fct_events).

    day_window_filter('invoice_day') renders a predicate restricting a model to the day
    window given by the vars `window_start_date` (inclusive) and `window_end_date`
    (exclusive), both 'YYYY-MM-DD'. It only applies when the model is built incrementally
    (is_incremental()), so while the facts are plain tables it renders `true` and the whole
    history is built. To switch a fact to incremental by day, change its config to
    materialized='incremental', incremental_strategy='delete+insert', unique_key='<day column>'
    and pass the partition window from Dagster as vars.
-#}
{% macro day_window_filter(day_column) -%}
    {%- set start = var('window_start_date', none) -%}
    {%- set end = var('window_end_date', none) -%}
    {%- if is_incremental() and (start or end) -%}
        ({{ day_column }} >= {{ "cast('" ~ start ~ "' as date)" if start else day_column }}
         and {{ day_column }} < {{ "cast('" ~ end ~ "' as date)" if end else "date '9999-12-31'" }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
