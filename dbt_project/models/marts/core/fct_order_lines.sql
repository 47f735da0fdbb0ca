{#-
    Incremental-ready: the day_window_filter renders `true` while this is a table. To load it
    by day, switch the config to
        materialized='incremental', incremental_strategy='delete+insert', unique_key='invoice_day'
    and pass window_start_date / window_end_date. Duplicate detection is per invoice_date,
    so a day window never splits a duplicate group.
-#}
{{ config(materialized='table') }}

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
