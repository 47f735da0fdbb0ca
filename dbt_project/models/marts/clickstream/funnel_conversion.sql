-- View -> cart -> purchase funnel, one row per breakdown ('overall', 'category', 'brand')
-- and breakdown value ('all' for overall; 'unknown' for events without a category code or
-- brand). A session (or user) reaches a stage when it has an event of that stage or of a
-- later one within the breakdown value, so every stage is a subset of the previous one and
-- rates are between 0 and 1:
--   viewed = any event, carted = a cart or purchase event, purchased = a purchase event.
-- Rates: view_to_cart = carted / viewed, cart_to_purchase = purchased / carted,
-- view_to_purchase = purchased / viewed (sessions and users separately).
with

-- Counted from the clickstream state (keyed_window.sql): one row per session and per user
-- and breakdown value, holding the furthest stage (1 viewed, 2 carted, 3 purchased) its
-- events of that value reach (NULL when none of them is a view, cart or purchase).
session_counts as (

    select
        breakdown,
        breakdown_value,
        count(*) as sessions_viewed,
        count(*) filter (where funnel_stage >= 2) as sessions_carted,
        count(*) filter (where funnel_stage = 3) as sessions_purchased
    from {{ ref('int_events__session_breakdowns') }}
    where funnel_stage is not null
    group by breakdown, breakdown_value

),

user_counts as (

    select
        breakdown,
        breakdown_value,
        count(*) as users_viewed,
        count(*) filter (where funnel_stage >= 2) as users_carted,
        count(*) filter (where funnel_stage = 3) as users_purchased
    from {{ ref('int_events__user_breakdowns') }}
    where funnel_stage is not null
    group by breakdown, breakdown_value

)

select
    s.breakdown,
    s.breakdown_value,
    s.sessions_viewed,
    s.sessions_carted,
    s.sessions_purchased,
    u.users_viewed,
    u.users_carted,
    u.users_purchased,
    round(s.sessions_carted / nullif(s.sessions_viewed, 0), 4) as session_view_to_cart_rate,
    round(s.sessions_purchased / nullif(s.sessions_carted, 0), 4) as session_cart_to_purchase_rate,
    round(s.sessions_purchased / nullif(s.sessions_viewed, 0), 4) as session_view_to_purchase_rate,
    round(u.users_carted / nullif(u.users_viewed, 0), 4) as user_view_to_cart_rate,
    round(u.users_purchased / nullif(u.users_carted, 0), 4) as user_cart_to_purchase_rate,
    round(u.users_purchased / nullif(u.users_viewed, 0), 4) as user_view_to_purchase_rate
from session_counts as s
inner join user_counts as u
    on
        s.breakdown = u.breakdown
        and s.breakdown_value = u.breakdown_value
