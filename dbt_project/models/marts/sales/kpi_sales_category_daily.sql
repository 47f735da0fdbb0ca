-- One row per (invoice day, country, product category) with merchandise activity.
-- category is the product's category, 'unknown' when the product has none (no product
-- catalogue landed, or a product missing from it). Same money and unit definitions as
-- kpi_sales_daily; summing revenue, gross_revenue, cancelled_revenue or units over the
-- categories of a (day, country) gives kpi_sales_country_daily's figure (a test holds it).
--   orders = distinct non-cancelled invoices with at least one merchandise line of the
--            category: an invoice with lines of two categories counts in both, so orders
--            do not add up over categories
-- Incremental (macros/mart_window.sql): a landing-sensor run recomputes the window's days;
-- a run with a products file (categories may move) recomputes every day.
{{ config(
    materialized='incremental',
    incremental_strategy=day_incremental_strategy(),
    partition_by=day_partition_by('sales_day'),
    unique_key='sales_day',
    on_schema_change='fail',
    pre_hook="{{ delete_mart_window('sales_day') }}",
) }}

with

lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_merchandise and {{ mart_window_predicate('invoice_day') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

daily as (

    select
        lines.invoice_day,
        lines.country,
        coalesce(products.category, 'unknown') as category,
        {{ merchandise_sales_measures('lines') }}
    from lines
    left join products
        on lines.product_key = products.product_key
    group by lines.invoice_day, lines.country, coalesce(products.category, 'unknown')

)

select
    {{ date_key('invoice_day') }} as date_key,
    invoice_day as sales_day,
    country,
    category,
    cast(revenue as decimal(18, 3)) as revenue,
    cast(gross_revenue as decimal(18, 3)) as gross_revenue,
    cast(cancelled_revenue as decimal(18, 3)) as cancelled_revenue,
    orders,
    cast(units as bigint) as units
from daily
