{{ config(alias='category_price_stats') }}
-- Price distribution per category (each product once, at its median observed price).
select
    cast(category as string) as category,
    cast(n_products as bigint) as products,
    cast(avg_price as decimal(18, 2)) as avg_price,
    cast(min_price as decimal(18, 2)) as min_price,
    cast(p25_price as decimal(18, 2)) as p25_price,
    cast(median_price as decimal(18, 2)) as median_price,
    cast(p75_price as decimal(18, 2)) as p75_price,
    cast(max_price as decimal(18, 2)) as max_price
from {{ ref('category_price_stats') }}
