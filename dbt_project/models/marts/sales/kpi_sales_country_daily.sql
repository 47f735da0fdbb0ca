-- One row per (invoice day, country) with merchandise activity; days without activity in a
-- country have no row. The same definitions as kpi_sales_daily, per country, so summing a
-- day's rows over the countries gives that day's kpi_sales_daily figures (a test holds it).
--   new_customers = known customers whose first non-cancelled merchandise invoice falls on
--                   that day, counted in the country of that first invoice (additive over
--                   days and countries, unlike unique_customers)
-- Incremental (macros/mart_window.sql): a landing-sensor run recomputes the window's days
-- and the days whose new_customers moved (a late or corrected file can move a customer's
-- first order to another day); first orders come from int_customers__sales_totals, kept
-- by customer over the whole history.
{{ config(
    materialized='incremental',
    incremental_strategy=day_incremental_strategy(),
    partition_by=day_partition_by('sales_day'),
    unique_key='sales_day',
    on_schema_change='fail',
    pre_hook="{{ delete_mart_window('sales_day') }}",
) }}

with

-- NOT MATERIALIZED: read twice (the window's days, then the affected days); DuckDB would
-- otherwise copy every merchandise line first
lines as {{ cte_not_materialized() }} (

    select * from {{ ref('fct_order_lines') }}
    where is_merchandise

),

new_customers as (

    select
        first_merchandise_day as invoice_day,
        first_merchandise_country as country,
        count(*) as new_customers
    from {{ ref('int_customers__sales_totals') }}
    where first_merchandise_day is not null
    group by first_merchandise_day, first_merchandise_country

),

-- the days to recompute: the window's (every day when not windowed) and, in a windowed
-- run, the days whose new_customers differ from the table's
affected_days as (

    select distinct invoice_day
    from lines
    where {{ mart_window_predicate('invoice_day') }}
    {%- if marts_windowed() %}

        union

        select changed.invoice_day
        from (
            select
                invoice_day,
                country,
                new_customers
            from new_customers
            except
            select
                sales_day,
                country,
                new_customers
            from {{ this }}
            where new_customers > 0
        ) as changed

        union

        select gone.sales_day
        from (
            select
                sales_day,
                country,
                new_customers
            from {{ this }}
            where new_customers > 0
            except
            select
                invoice_day,
                country,
                new_customers
            from new_customers
        ) as gone
    {%- endif %}

),

daily as (

    select
        lines.invoice_day,
        lines.country,
        {{ merchandise_sales_measures('lines') }}
    from lines
    inner join affected_days
        on lines.invoice_day = affected_days.invoice_day
    group by lines.invoice_day, lines.country

)

select
    {{ date_key('daily.invoice_day') }} as date_key,
    daily.invoice_day as sales_day,
    daily.country,
    cast(daily.revenue as decimal(18, 3)) as revenue,
    cast(daily.gross_revenue as decimal(18, 3)) as gross_revenue,
    cast(daily.cancelled_revenue as decimal(18, 3)) as cancelled_revenue,
    daily.orders,
    daily.cancellations,
    cast(daily.units as bigint) as units,
    coalesce(new_customers.new_customers, 0) as new_customers
from daily
left join new_customers
    on
        daily.invoice_day = new_customers.invoice_day
        and daily.country = new_customers.country
