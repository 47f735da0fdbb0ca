-- One row per category (category_code; 'unknown' when none): interactions by event type,
-- distinct users and sessions, purchase revenue, share of all interactions and rank
-- (1 = most interactions; ties broken by purchases, then category).
-- Added up from the clickstream state (keyed_window.sql): one row per user, and one per
-- session, of each category.
with

by_category as (

    select
        breakdown_value as category,
        cast(sum(interactions) as bigint) as interactions,
        cast(sum(views) as bigint) as views,
        cast(sum(carts) as bigint) as carts,
        cast(sum(removes_from_cart) as bigint) as removes_from_cart,
        cast(sum(purchases) as bigint) as purchases,
        count(*) as users,
        cast(coalesce(sum(purchase_revenue), 0) as decimal(18, 2)) as purchase_revenue
    from {{ ref('int_events__user_breakdowns') }}
    where breakdown = 'category'
    group by breakdown_value

),

sessions_by_category as (

    select
        breakdown_value as category,
        count(*) as sessions
    from {{ ref('int_events__session_breakdowns') }}
    where breakdown = 'category'
    group by breakdown_value

)

select
    by_category.category,
    by_category.interactions,
    by_category.views,
    by_category.carts,
    by_category.removes_from_cart,
    by_category.purchases,
    by_category.users,
    sessions_by_category.sessions,
    by_category.purchase_revenue,
    round(by_category.interactions / sum(by_category.interactions) over (), 4) as interaction_share,
    -- BIGINT on every engine (Spark's row_number is an INT)
    cast(row_number() over (
        order by by_category.interactions desc, by_category.purchases desc, by_category.category asc
    ) as bigint) as popularity_rank
from by_category
inner join sessions_by_category
    on by_category.category = sessions_by_category.category
