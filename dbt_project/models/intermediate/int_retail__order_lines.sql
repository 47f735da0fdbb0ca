{#-
    Invoice lines after exact duplicate lines are dropped (the one documented exclusion
    between raw.transactions and fct_order_lines), with the durable keys of every
    dimension computed from natural keys (see macros/keys.sql). Materialised once because
    every order-line consumer reads it.

    Incremental by invoice day like fct_order_lines, but not a Dagster partition: a
    landing-sensor run sets the window of the days its files touch (and of the versions
    they replace), so only those days are rebuilt; every other Dagster run builds it with
    --full-refresh. A plain `dbt build` without a window rebuilds every day. Duplicates
    share their invoice timestamp, so a day window never splits a duplicate group.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='invoice_day',
    on_schema_change='fail',
    pre_hook="{{ delete_day_window('invoice_day') }}",
) }}

with

lines as (

    select * from {{ ref('stg_retail__transactions') }}
    where not is_duplicate
      and {{ day_window_filter('invoice_day') }}

),

keyed as (

    select
        {{ stable_key("_file_sha256 || ':' || cast(_row_number as varchar)") }}   as order_line_key,
        invoice,
        stock_code,
        description,
        customer_id,
        coalesce({{ stable_key('customer_id') }}, {{ unknown_key() }})          as customer_key,
        {{ stable_key('stock_code') }}                                         as product_key,
        {{ date_key('invoice_day') }}                                          as date_key,
        country,
        coalesce({{ stable_key('country') }}, {{ unknown_key() }})              as country_key,
        invoice_date,
        invoice_day,
        quantity,
        unit_price,
        line_amount                                                            as net_amount,
        is_cancellation,
        is_merchandise,
        _source_file,
        _file_sha256,
        _row_number,
        _ingested_at

    from lines

)

select * from keyed
