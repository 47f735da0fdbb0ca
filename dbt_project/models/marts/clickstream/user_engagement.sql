-- The most engaged users per category and per brand: one row per (dimension,
-- dimension_value, user) for the top var('engagement_top_n') (default 10) users of each
-- category / brand, ranked by interactions (all events), then purchases, carts, user id.
{%- set top_n = var('engagement_top_n', 10) | int %}
with

events as (

    select * from {{ ref('fct_events') }}

),

long as (

    select
        'category' as dimension,
        category as dimension_value,
        user_id,
        event_type,
        price
    from events
    union all
    select
        'brand',
        brand,
        user_id,
        event_type,
        price
    from events
    where brand is not null

),

per_user as (

    select
        dimension,
        dimension_value,
        user_id,
        count(*) as interactions,
        count(*) filter (where event_type = 'view') as views,
        count(*) filter (where event_type = 'cart') as carts,
        count(*) filter (where event_type = 'purchase') as purchases,
        cast(coalesce(sum(price) filter (where event_type = 'purchase'), 0) as decimal(18, 2)) as purchase_revenue
    from long
    group by dimension, dimension_value, user_id

),

ranked as (

    select
        *,
        -- BIGINT on every engine (Spark's row_number is an INT)
        cast(row_number() over (
            partition by dimension, dimension_value
            order by interactions desc, purchases desc, carts desc, user_id asc
        ) as bigint) as engagement_rank
    from per_user

)

select *
from ranked
where engagement_rank <= {{ top_n }}
