{{ config(alias='product_sales_weekly') }}
-- Weekly merchandise sales per product (net of cancellations).
select
    cast(weekly.stock_code as string) as stock_code,
    cast(products.description as string) as product_description,
    cast(weekly.week_start as date) as week_start,
    cast(weekly.iso_year as integer) as iso_year,
    cast(weekly.iso_week as integer) as iso_week,
    cast(weekly.revenue as decimal(18, 2)) as net_revenue,
    cast(weekly.units as bigint) as net_units,
    cast(weekly.orders as bigint) as orders,
    cast(weekly.customers as bigint) as customers
from {{ ref('product_sales_weekly') }} as weekly
left join {{ ref('dim_products') }} as products
    on weekly.product_key = products.product_key
