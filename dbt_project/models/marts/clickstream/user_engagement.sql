-- The most engaged users per category and per brand: one row per (dimension,
-- dimension_value, user) for the top var('engagement_top_n') (default 10) users of each
-- category / brand, ranked by interactions (all events), then purchases, carts, user id.
{%- set top_n = var('engagement_top_n', 10) | int %}
with

-- the clickstream state (keyed_window.sql): one row per user and category or brand ('brand'
-- rows count the events that have a brand; a row counting none is left out)
per_user as (

    select
        breakdown as dimension,
        breakdown_value as dimension_value,
        user_id,
        interactions,
        views,
        carts,
        purchases,
        purchase_revenue
    from {{ ref('int_events__user_breakdowns') }}
    where breakdown in ('category', 'brand') and interactions > 0

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
