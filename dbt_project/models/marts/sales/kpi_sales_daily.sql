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
with

lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_merchandise

),

dates as (

    select * from {{ ref('dim_dates') }}

),

daily as (

    select
        invoice_day,
        {{ merchandise_sales_measures('lines') }},
        count(distinct customer_id) filter (where not is_cancellation) as unique_customers
    from lines
    group by invoice_day

),

span as (

    select
        min(invoice_day) as first_day,
        max(invoice_day) as last_day
    from daily

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
cross join span
left join daily
    on dates.date_day = daily.invoice_day
where dates.date_day between span.first_day and span.last_day
