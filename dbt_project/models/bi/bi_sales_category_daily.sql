{{ config(alias='sales_category_daily') }}
-- Daily sales per country and product category, for the dashboard's category filter (see
-- marts.kpi_sales_category_daily: orders do not add up over categories).
select
    cast(sales_day as date) as sales_date,
    cast(country as string) as country,
    cast(category as string) as category,
    cast(revenue as decimal(18, 2)) as net_revenue,
    cast(gross_revenue as decimal(18, 2)) as gross_revenue,
    cast(cancelled_revenue as decimal(18, 2)) as cancelled_revenue,
    cast(orders as bigint) as orders,
    cast(units as bigint) as net_units
from {{ ref('kpi_sales_category_daily') }}
