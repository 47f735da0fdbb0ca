-- The most engaged users per category and per brand: one row per (dimension,
-- dimension_value, user) for the top var('engagement_top_n') (default 10) users of each
-- category / brand, ranked by interactions (all events), then purchases, carts, user id.
{%- set top_n = var('engagement_top_n', 10) | int %}
with

-- the clickstream state (keyed_window.sql): one row per user and category or brand ('brand'
-- rows count the events that have a brand; a row counting none is left out)
-- NOT MATERIALIZED: read twice; DuckDB would otherwise copy every user's rows first
per_user as {{ cte_not_materialized() }} (

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

-- the top n of a category or brand have at least its n-th largest interactions: only
-- those users are ranked (a few rows per value, not every user)
thresholds as (

    select
        dimension,
        dimension_value,
        {{ nth_largest('interactions', top_n) }} as min_interactions
    from per_user
    group by dimension, dimension_value

),

candidates as (

    select per_user.*
    from per_user
    inner join thresholds
        on
            per_user.dimension = thresholds.dimension
            and per_user.dimension_value = thresholds.dimension_value
    where per_user.interactions >= thresholds.min_interactions

),

ranked as (

    select
        *,
        -- BIGINT on every engine (Spark's row_number is an INT)
        cast(row_number() over (
            partition by dimension, dimension_value
            order by interactions desc, purchases desc, carts desc, user_id asc
        ) as bigint) as engagement_rank
    from candidates

)

select *
from ranked
where engagement_rank <= {{ top_n }}
