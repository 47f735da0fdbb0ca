-- One row per category (category_code; 'unknown' when the event has none): the price
-- distribution over the category's products, each product counted once at its median
-- observed price (so heavily viewed products do not weigh more).
--
-- The median is taken from each product's price distribution (events per distinct price)
-- rather than from every event: median() over the raw events keeps every price of every
-- product (157M at scale 50, where it spilled tens of GB). The middle one or two values
-- are found by cumulative counts and passed to the same median(), so the result, type
-- and interpolation included, is exactly median(price) over the events.
with

price_counts as (

    select
        category,
        product_id,
        price,
        count(*) as n
    from {{ ref('fct_events') }}
    where price is not null
    group by category, product_id, price

),

ranked as (

    select
        category,
        product_id,
        price,
        n,
        sum(n) over (
            partition by category, product_id order by price
            rows between unbounded preceding and current row
        ) as n_through,
        sum(n) over (partition by category, product_id) as n_events
    from price_counts

),

-- the value at 0-based position (n_events - 1) div 2 and the one at n_events div 2 of the
-- product's sorted prices (the same value when n_events is odd)
middle as (

    select
        category,
        product_id,
        n_events,
        price
    from ranked
    where n_through - n <= {{ int_div('n_events - 1', '2') }} and {{ int_div('n_events - 1', '2') }} < n_through
    union all
    select
        category,
        product_id,
        n_events,
        price
    from ranked
    where n_through - n <= {{ int_div('n_events', '2') }} and {{ int_div('n_events', '2') }} < n_through

),

product_prices as (

    select
        category,
        product_id,
        -- DOUBLE on both engines: DuckDB keeps a DECIMAL median at the input's scale, Spark
        -- returns DOUBLE, so a midpoint such as 1.255 would round differently
        median(cast(price as double)) as product_price,
        any_value(n_events) as n_events
    from middle
    group by category, product_id

)

select
    category,
    count(*) as n_products,
    cast(sum(n_events) as bigint) as n_events,
    cast(round(avg(product_price), 2) as decimal(18, 2)) as avg_price,
    cast(min(product_price) as decimal(18, 2)) as min_price,
    cast(percentile_cont(0.25) within group (order by product_price) as decimal(18, 2)) as p25_price,
    cast(percentile_cont(0.5) within group (order by product_price) as decimal(18, 2)) as median_price,
    cast(percentile_cont(0.75) within group (order by product_price) as decimal(18, 2)) as p75_price,
    cast(max(product_price) as decimal(18, 2)) as max_price
from product_prices
group by category
