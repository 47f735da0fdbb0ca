-- One row per (invoice day, country, product category) with merchandise activity.
-- category is the product's category, 'unknown' when the product has none (no product
-- catalogue landed, or a product missing from it). Same money and unit definitions as
-- kpi_sales_daily; summing revenue, gross_revenue, cancelled_revenue or units over the
-- categories of a (day, country) gives kpi_sales_country_daily's figure (a test holds it).
--   orders = distinct non-cancelled invoices with at least one merchandise line of the
--            category: an invoice with lines of two categories counts in both, so orders
--            do not add up over categories
with

lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_merchandise

),

products as (

    select * from {{ ref('dim_products') }}

)

select
    {{ date_key('lines.invoice_day') }} as date_key,
    lines.invoice_day as sales_day,
    lines.country,
    coalesce(products.category, 'unknown') as category,
    cast(sum(lines.net_amount) as decimal(18, 3)) as revenue,
    cast(coalesce(sum(lines.net_amount) filter (where not lines.is_cancellation), 0) as decimal(18, 3))
        as gross_revenue,
    cast(coalesce(-sum(lines.net_amount) filter (where lines.is_cancellation), 0) as decimal(18, 3))
        as cancelled_revenue,
    count(distinct lines.invoice) filter (where not lines.is_cancellation) as orders,
    cast(sum(lines.quantity) as bigint) as units
from lines
left join products
    on lines.product_key = products.product_key
group by lines.invoice_day, lines.country, coalesce(products.category, 'unknown')
