-- One row per stock code and ISO week (Monday start) with merchandise sales that week.
-- revenue and units are net (cancellations negative); orders/customers count
-- non-cancelled invoices only.
with

lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_merchandise

)

select
    product_key,
    stock_code,
    cast(date_trunc('week', invoice_day) as date)                   as week_start,
    cast(isoyear(invoice_day) as integer)                           as iso_year,
    cast(week(invoice_day) as integer)                              as iso_week,
    cast(sum(net_amount) as decimal(18, 3))                         as revenue,
    cast(sum(quantity) as bigint)                                   as units,
    count(distinct invoice) filter (where not is_cancellation)      as orders,
    count(distinct customer_id) filter (where not is_cancellation)  as customers,
    cast(coalesce(-sum(quantity) filter (where is_cancellation), 0) as bigint) as cancelled_units
from lines
group by product_key, stock_code, date_trunc('week', invoice_day), isoyear(invoice_day), week(invoice_day)
