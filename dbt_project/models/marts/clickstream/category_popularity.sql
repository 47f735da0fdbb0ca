-- One row per category (category_code; 'unknown' when none): interactions by event type,
-- distinct users and sessions, purchase revenue, share of all interactions and rank
-- (1 = most interactions; ties broken by purchases, then category).
with

events as (

    select * from {{ ref('fct_events') }}

),

by_category as (

    select
        category,
        count(*) as interactions,
        count(*) filter (where event_type = 'view') as views,
        count(*) filter (where event_type = 'cart') as carts,
        count(*) filter (where event_type = 'remove_from_cart') as removes_from_cart,
        count(*) filter (where event_type = 'purchase') as purchases,
        count(distinct user_id) as users,
        count(distinct session_id) as sessions,
        cast(coalesce(sum(price) filter (where event_type = 'purchase'), 0) as decimal(18, 2)) as purchase_revenue
    from events
    group by category

)

select
    *,
    round(interactions / sum(interactions) over (), 4) as interaction_share,
    -- BIGINT on every engine (Spark's row_number is an INT)
    cast(row_number() over (order by interactions desc, purchases desc, category asc) as bigint) as popularity_rank
from by_category
