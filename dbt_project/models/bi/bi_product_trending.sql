{{ config(alias='product_trending') }}
-- Trending products: only those meeting the minimum volume in both periods and the breadth
-- rule (growth not from one order or one customer; see marts.product_trending), ranked.
select
    cast(trend_rank as bigint) as trend_rank,
    cast(stock_code as string) as stock_code,
    cast(description as string) as product_description,
    cast(current_start as date) as period_start,
    cast(current_end as date) as period_end,
    cast(prior_start as date) as prior_period_start,
    cast(prior_end as date) as prior_period_end,
    cast(current_units as bigint) as net_units,
    cast(prior_units as bigint) as prior_net_units,
    cast(current_revenue as decimal(18, 2)) as net_revenue,
    cast(prior_revenue as decimal(18, 2)) as prior_net_revenue,
    cast(units_growth as double) as units_growth,
    cast(revenue_growth as double) as revenue_growth
from {{ ref('product_trending') }}
where is_trending
