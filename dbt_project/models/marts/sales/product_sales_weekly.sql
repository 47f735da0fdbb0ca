-- One row per stock code and ISO week (Monday start) with merchandise sales that week.
-- revenue and units are net (cancellations negative); orders/customers count
-- non-cancelled invoices only.
-- Incremental (macros/mart_window.sql): a landing-sensor run recomputes the weeks that
-- overlap its window, each from all of that week's lines.
{{ config(
    materialized='incremental',
    incremental_strategy=day_incremental_strategy(),
    partition_by=day_partition_by('week_start'),
    unique_key='week_start',
    on_schema_change='fail',
    pre_hook="{{ delete_mart_window('week_start', grain='week') }}",
) }}

with

lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_merchandise and {{ mart_window_predicate(week_start_of('invoice_day'), grain='week') }}

),

-- grouped on the week's Monday alone: every day of an ISO week has the same ISO year and
-- week number as its Monday, so iso_year / iso_week are derived per group afterwards
weekly as (

    select
        product_key,
        stock_code,
        {{ week_start_of('invoice_day') }} as week_start,
        cast(sum(net_amount) as decimal(18, 3)) as revenue,
        cast(sum(quantity) as bigint) as units,
        count(distinct invoice) filter (where not is_cancellation) as orders,
        count(distinct customer_id) filter (where not is_cancellation) as customers,
        cast(coalesce(-sum(quantity) filter (where is_cancellation), 0) as bigint) as cancelled_units
    from lines
    group by product_key, stock_code, {{ week_start_of('invoice_day') }}

)

select
    product_key,
    stock_code,
    week_start,
    cast({{ iso_year('week_start') }} as integer) as iso_year,
    cast(weekofyear(week_start) as integer) as iso_week,
    revenue,
    units,
    orders,
    customers,
    cancelled_units
from weekly
