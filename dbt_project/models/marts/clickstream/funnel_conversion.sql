-- View -> cart -> purchase funnel, one row per breakdown ('overall', 'category', 'brand')
-- and breakdown value ('all' for overall; 'unknown' for events without a category code or
-- brand). A session (or user) reaches a stage when it has an event of that stage or of a
-- later one within the breakdown value, so every stage is a subset of the previous one and
-- rates are between 0 and 1:
--   viewed = any event, carted = a cart or purchase event, purchased = a purchase event.
-- Rates: view_to_cart = carted / viewed, cart_to_purchase = purchased / carted,
-- view_to_purchase = purchased / viewed (sessions and users separately).
with

-- The furthest stage (1 viewed, 2 carted, 3 purchased) each session and each user reaches
-- per category and brand, from the clickstream state tables (keyed_window.sql): every count
-- below is a roll-up of these rows, and each breakdown is one of them repeated by the cross
-- join, not a UNION ALL of three scans. Sessions are told apart by session_key, a 64-bit
-- hash of their id: an 8-byte key instead of a 36-character text in the 78M (breakdown,
-- value, session) groups of scale 50 (figures: docs/benchmarks.md, Measured choices). Two
-- sessions sharing a hash would be counted once: the test
-- assert_funnel_sessions_match_fct_sessions would then fail (odds ~1e-6 at 8M sessions).
session_reach as {{ cte_not_materialized() }} (

    select
        session_key,
        category,
        coalesce(brand, 'unknown') as brand,
        funnel_stage as stage
    from {{ ref('int_events__session_category_brand') }}
    where funnel_stage is not null

),

user_reach as {{ cte_not_materialized() }} (

    select
        user_id,
        category,
        coalesce(brand, 'unknown') as brand,
        funnel_stage as stage
    from {{ ref('int_events__user_category_brand') }}
    where funnel_stage is not null

),

breakdowns as (

    select b.breakdown from (values ('overall'), ('category'), ('brand')) as b (breakdown)

),

session_counts as (

    select
        breakdown,
        breakdown_value,
        count(*) as sessions_viewed,
        count(*) filter (where stage >= 2) as sessions_carted,
        count(*) filter (where stage = 3) as sessions_purchased
    from (
        select
            breakdown,
            breakdown_value,
            session_key,
            max(stage) as stage
        from (
            select
                b.breakdown,
                case b.breakdown when 'overall' then 'all' when 'category' then r.category else r.brand end
                    as breakdown_value,
                r.session_key,
                r.stage
            from session_reach as r
            cross join breakdowns as b
        ) as long
        group by all
    ) as furthest_stage
    group by all

),

user_counts as (

    select
        breakdown,
        breakdown_value,
        count(*) as users_viewed,
        count(*) filter (where stage >= 2) as users_carted,
        count(*) filter (where stage = 3) as users_purchased
    from (
        select
            breakdown,
            breakdown_value,
            user_id,
            max(stage) as stage
        from (
            select
                b.breakdown,
                case b.breakdown when 'overall' then 'all' when 'category' then r.category else r.brand end
                    as breakdown_value,
                r.user_id,
                r.stage
            from user_reach as r
            cross join breakdowns as b
        ) as long
        group by all
    ) as furthest_stage
    group by all

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
