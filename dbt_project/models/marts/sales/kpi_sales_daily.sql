-- One row per calendar day from the first to the last invoice day (days without sales
-- included, with zeros). Merchandise lines only (postage, fees, manual adjustments and
-- other non-merchandise codes are left out).
--   revenue           = net sales: sum of quantity x unit_price over merchandise lines,
--                       cancellations included as negatives (booked on the cancellation day)
--   gross_revenue     = the same over non-cancelled invoices only
--   cancelled_revenue = minus the same over cancellation invoices (a positive number)
--   orders            = distinct non-cancelled invoices with at least one merchandise line
--   cancellations     = distinct cancellation invoices with at least one merchandise line
--   units             = net units (cancellations negative)
--   unique_customers  = distinct known customers with an order that day
--   aov               = gross_revenue / orders to the cent, half a cent up (NULL without orders)
--   cancellation_rate = cancellations / (orders + cancellations) to 4 decimals (NULL without invoices)
-- Incremental (macros/mart_window.sql): a landing-sensor run recomputes the window's days
-- and the days of the span without a row yet (the zero days up to a new first or last day).
{{ config(
    materialized='incremental',
    incremental_strategy=day_incremental_strategy(),
    partition_by=day_partition_by('sales_day'),
    unique_key='sales_day',
    on_schema_change='fail',
    pre_hook="{{ delete_mart_window('sales_day') }}",
) }}

with

-- NOT MATERIALIZED: read twice (the span, then the affected days); DuckDB would otherwise
-- copy every merchandise line first
lines as {{ cte_not_materialized() }} (

    select * from {{ ref('fct_order_lines') }}
    where is_merchandise

),

span as (

    select
        min(invoice_day) as first_day,
        max(invoice_day) as last_day
    from lines

),

dates as (

    select dim_dates.*
    from {{ ref('dim_dates') }} as dim_dates
    cross join span
    where
        dim_dates.date_day between span.first_day and span.last_day
        and (
            {{ mart_window_predicate('dim_dates.date_day') }}
            {% if marts_windowed() -%}
                or dim_dates.date_day not in (select kept.sales_day from {{ this }} as kept)
            {%- endif %}
        )

),

daily as (

    select
        lines.invoice_day,
        {{ merchandise_sales_measures('lines') }},
        count(distinct lines.customer_id) filter (where not lines.is_cancellation) as unique_customers
    from lines
    inner join dates
        on lines.invoice_day = dates.date_day
    group by lines.invoice_day

)

select
    dates.date_key,
    dates.date_day as sales_day,
    dates.is_weekend,
    dates.is_uk_bank_holiday,
    cast(coalesce(daily.revenue, 0) as decimal(18, 3)) as revenue,
    cast(coalesce(daily.gross_revenue, 0) as decimal(18, 3)) as gross_revenue,
    cast(coalesce(daily.cancelled_revenue, 0) as decimal(18, 3)) as cancelled_revenue,
    coalesce(daily.orders, 0) as orders,
    coalesce(daily.cancellations, 0) as cancellations,
    cast(coalesce(daily.units, 0) as bigint) as units,
    coalesce(daily.unique_customers, 0) as unique_customers,
    -- exact on every engine (macros/exact_rounding.sql): half a cent rounds up
    {{ cents_ratio('daily.gross_revenue', 'nullif(daily.orders, 0)') }} as aov,
    {{ rate_4dp('daily.cancellations', 'daily.orders + daily.cancellations') }} as cancellation_rate
from dates
left join daily
    on dates.date_day = daily.invoice_day
