{#-
    Incremental marts: a landing-sensor run recomputes only the days its files touch.

    The day-grained marts (kpi_sales_daily, kpi_sales_country_daily,
    kpi_sales_category_daily) and the week-grained product_sales_weekly are incremental
    models. A build recomputes only their "affected" days or weeks, and only when all of
    these hold:
      - the table exists (is_incremental(): not a first build, not --full-refresh);
      - a day window is given (window_start_date / window_end_date, see day_window.sql);
      - the marts may use it: ECOM_DBT_MARTS_WINDOW=on. Dagster sets it in a landing-sensor
        run whose files are only transactions and events. A products or customers file
        changes the dimensions, which can move every day's figures (a product's category),
        so that run rebuilds the marts' every day.
    Otherwise every day is recomputed, and the result is a full rebuild.

    The affected days are the window's days plus whatever a model adds. kpi_sales_daily
    adds the days of its span that it has no row for. kpi_sales_country_daily adds the days
    whose new_customers moved. The model emits every row of each affected day (or week). A
    pre-hook (delete_mart_window) first deletes the window's rows, so a day whose activity
    disappeared (a corrected file) loses its rows. delete+insert on the day key (DuckDB), or
    insert_overwrite of the day partitions (Spark), then replaces the other affected days.
-#}
{% macro marts_windowed() -%}
    {{- return(incremental_with_window() and env_var('ECOM_DBT_MARTS_WINDOW', '') == 'on') -}}
{%- endmacro %}

{#- Monday of the ISO week holding `d` (a date expression), as a date. -#}
{% macro week_start_of(d) -%}
    cast(date_trunc('week', {{ d }}) as date)
{%- endmacro %}

{#-
    mart_window_predicate(column, grain): true for the rows of the window: `column` is a day
    (grain 'day') or the Monday of a week (grain 'week': the weeks overlapping the window).
    Renders `true` when the marts are not windowed (every row).
-#}
{% macro mart_window_predicate(column, grain='day') -%}
    {%- if not marts_windowed() -%}
        true
    {%- elif grain == 'week' -%}
        {%- set start, end = day_window_bounds() -%}
        ({{ column }} >= {{ week_start_of("cast('" ~ start ~ "' as date)") }}
         and {{ column }} < cast('{{ end }}' as date))
    {%- else -%}
        {{ day_window_predicate(column) }}
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook: delete the window's rows (every row when not windowed, in an incremental
    run): a DELETE, or on Spark the matching partitions dropped (delete_rows_where). -#}
{% macro delete_mart_window(column, grain='day') -%}
    {%- if execute and this is not none and is_incremental() -%}
        {{ delete_rows_where(column, mart_window_predicate(column, grain)) }}
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{%- endmacro %}
