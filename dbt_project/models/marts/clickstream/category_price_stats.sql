-- One row per category (category_code; 'unknown' when the event has none): the price
-- distribution over the category's products, each product counted once at its median
-- observed price (so heavily viewed products do not weigh more).
--
-- The median is taken from each product's price distribution (events per distinct price)
-- rather than from every event: median() over the raw events keeps every price of every
-- product (157M at scale 50, where it spilled tens of GB). That distribution is kept by
-- product in int_events__product_prices, so a refresh reads it, not every event. The
-- middle one or two values are found by cumulative counts (middle_values) and averaged
-- exactly. The category's quartiles and mean are computed in DECIMAL and integer arithmetic
-- and rounded half a cent up, so they are the same on every engine (percentile_cont and avg
-- over DOUBLE round differently on each).
with

-- events per (category, product, price), kept by product (int_events__product_prices)
price_counts as (

    select
        category,
        product_id,
        price,
        n_events as n
    from {{ ref('int_events__product_prices') }}
    where price is not null

),

-- the product's median price exactly: half the sum of its middle two prices (the middle one
-- twice when the count is odd), a DECIMAL with one more decimal, the same on every engine
product_prices as (

    select
        category,
        product_id,
        (lower_value + upper_value) * 0.5 as product_price,
        n_values as n_events
    from ({{ middle_values('price_counts', ['category', 'product_id'], 'price', 'n') }}) as middle

),

ordered as (

    select
        category,
        product_price,
        row_number() over (partition by category order by product_price) - 1 as i,
        count(*) over (partition by category) as n
    from product_prices

),

-- quartile q (1, 2, 3) of the category's product prices as percentile_cont computes it, at
-- position q * (n - 1) / 4 between the values at i = lo and lo + 1, but in DECIMAL
-- arithmetic: the quarter steps are exact, so every engine gets the same figure
category_counts as (

    select distinct
        category,
        n
    from ordered

),

quartile_numbers as (

    select 1 as q
    union all
    select 2 as q
    union all
    select 3 as q

),

positions as (

    select
        category_counts.category,
        quartile_numbers.q,
        {{ int_div('quartile_numbers.q * (category_counts.n - 1)', '4') }} as lo,
        (quartile_numbers.q * (category_counts.n - 1)) % 4 as quarters
    from category_counts
    cross join quartile_numbers

),

quartile_values as (

    select
        positions.category,
        positions.q,
        max(case when ordered.i = positions.lo then ordered.product_price end)
        + (
            coalesce(
                max(case when ordered.i = positions.lo + 1 then ordered.product_price end),
                max(case when ordered.i = positions.lo then ordered.product_price end)
            )
            - max(case when ordered.i = positions.lo then ordered.product_price end)
        ) * positions.quarters * 0.25 as price
    from positions
    inner join ordered
        on
            positions.category = ordered.category
            and ordered.i in (positions.lo, positions.lo + 1)
    group by positions.category, positions.q, positions.lo, positions.quarters

),

quartiles as (

    select
        category,
        max(case when q = 1 then price end) as p25,
        max(case when q = 2 then price end) as p50,
        max(case when q = 3 then price end) as p75
    from quartile_values
    group by category

),

categories as (

    select
        category,
        count(*) as n_products,
        cast(sum(n_events) as bigint) as n_events,
        -- the mean to the cent in integers (thousandths of a pound), half a cent up
        {{ cents_ratio('sum(product_price)', 'count(*)') }} as avg_price,
        min(product_price) as min_price,
        max(product_price) as max_price
    from product_prices
    group by category

)

select
    categories.category,
    categories.n_products,
    categories.n_events,
    categories.avg_price,
    cast(round(categories.min_price, 2) as decimal(18, 2)) as min_price,
    cast(round(quartiles.p25, 2) as decimal(18, 2)) as p25_price,
    cast(round(quartiles.p50, 2) as decimal(18, 2)) as median_price,
    cast(round(quartiles.p75, 2) as decimal(18, 2)) as p75_price,
    cast(round(categories.max_price, 2) as decimal(18, 2)) as max_price
from categories
inner join quartiles
    on categories.category = quartiles.category
