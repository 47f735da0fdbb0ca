-- One row per category (category_code; 'unknown' when the event has none): the price
-- distribution over the category's products, each product counted once at its median
-- observed price (so heavily viewed products do not weigh more).
with

events as (

    select * from {{ ref('fct_events') }}
    where price is not null

),

product_prices as (

    select
        category,
        product_id,
        median(price) as product_price,
        count(*) as n_events
    from events
    group by category, product_id

)

select
    category,
    count(*)                                                                as n_products,
    cast(sum(n_events) as bigint)                                           as n_events,
    cast(round(avg(product_price), 2) as decimal(18, 2))                    as avg_price,
    cast(min(product_price) as decimal(18, 2))                              as min_price,
    cast(quantile_cont(product_price, 0.25) as decimal(18, 2))              as p25_price,
    cast(quantile_cont(product_price, 0.5) as decimal(18, 2))               as median_price,
    cast(quantile_cont(product_price, 0.75) as decimal(18, 2))              as p75_price,
    cast(max(product_price) as decimal(18, 2))                              as max_price
from product_prices
group by category
