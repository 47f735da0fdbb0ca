{{ config(alias='product_bestsellers') }}
-- All-time best-selling merchandise (net of cancellations).
select
    cast(stock_code as string) as stock_code,
    cast(description as string) as product_description,
    cast(revenue as decimal(18, 2)) as net_revenue,
    cast(units as bigint) as net_units,
    cast(orders as bigint) as orders,
    cast(customers as bigint) as customers,
    cast(revenue_rank as bigint) as revenue_rank,
    cast(units_rank as bigint) as units_rank
from {{ ref('product_bestsellers') }}
