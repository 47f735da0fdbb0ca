{#-
    Incremental by day (see macros/day_window.sql): a run with a day window passes
    window_start_date / window_end_date and rebuilds exactly those invoice days (the
    pre-hook deletes the window, delete+insert writes its rows). Without a window (a plain
    `dbt build`, or Dagster's runs without one, with --full-refresh) every day is built.
    Duplicate detection upstream partitions on the invoice timestamp, so a day window
    never splits a duplicate group. A window's build tests only its rows (meta
    tests_day_column, see macros/new_rows.sql).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=day_incremental_strategy(),
    partition_by=day_partition_by('invoice_day'),
    unique_key='invoice_day',
    on_schema_change='fail',
    meta={'tests_day_column': 'invoice_day'},
    tags=['partitioned_daily'],
    pre_hook="{{ delete_day_window('invoice_day') }}",
) }}

with

lines as (

    select * from {{ ref('int_retail__order_lines') }}
    where {{ day_window_filter('invoice_day') }}

)

select
    order_line_key,
    invoice,
    stock_code,
    description,
    customer_id,
    customer_key,
    product_key,
    date_key,
    country_key,
    country,
    invoice_date,
    invoice_day,
    quantity,
    unit_price,
    net_amount,
    is_cancellation,
    is_merchandise,
    _source_file,
    _file_sha256,
    _row_number
from lines
