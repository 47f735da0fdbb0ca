-- One row per user with events: the category and the brand the user interacted with most
-- (all event types count; ties broken alphabetically; events without a brand do not count
-- for the brand, events without a category code count as category 'unknown'), counted from
-- the clickstream state int_events__user_breakdowns, and the user's first and last event
-- day. user_top_category_brand publishes it with the user's customer key.
-- Incremental by user (macros/keyed_window.sql): a landing-sensor run recomputes the users
-- whose state rows overlap its window (those the state recomputed) or whose row here does.
{{ config(
    materialized=keyed_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='user_id',
    on_schema_change='fail',
    pre_hook="{{ delete_all_unless_windowed() }}",
    post_hook=[
        "{{ delete_vanished_keys('user_id', 'first_day', 'last_day', source=ref('int_events__user_breakdowns'), day_column=['first_day', 'last_day']) }}",
        "{{ mark_keyed_window() }}",
    ],
    meta={'tests_key': {'column': 'user_id', 'first_day': 'first_day', 'last_day': 'last_day'}},
) }}

with

-- the state's rows (one per user and breakdown value; 'brand' rows count the events that
-- have a brand, so a row counting none is no brand of the user)
-- NOT MATERIALIZED: read three times, each needing other columns and rows; DuckDB would
-- otherwise copy them all first
user_rows as {{ cte_not_materialized() }} (

    select
        user_id,
        breakdown,
        breakdown_value,
        interactions,
        first_day,
        last_day
    from (
        {{ keyed_window_events(
            'user_id', 'first_day', 'last_day',
            source=ref('int_events__user_breakdowns'), day_column=['first_day', 'last_day']
        ) }}
    ) as state_rows

),

-- each user's most interactions per breakdown, then the first value (alphabetically) with
-- that many: a ranking by interactions desc, value asc, without sorting every row
most as (

    select
        user_id,
        breakdown,
        max(interactions) as interactions
    from user_rows
    where breakdown in ('category', 'brand') and interactions > 0
    group by user_id, breakdown

),

top_values as (

    select
        most.user_id,
        most.breakdown,
        most.interactions,
        min(user_rows.breakdown_value) as breakdown_value
    from most
    inner join user_rows
        on
            most.user_id = user_rows.user_id
            and most.breakdown = user_rows.breakdown
            and most.interactions = user_rows.interactions
    group by most.user_id, most.breakdown, most.interactions

),

users as (

    select
        user_id,
        max(interactions) filter (where breakdown = 'overall') as interactions,
        count(*) filter (where breakdown = 'category') as n_categories,
        count(*) filter (where breakdown = 'brand' and interactions > 0) as n_brands,
        min(first_day) as first_day,
        max(last_day) as last_day
    from user_rows
    group by user_id

)

select
    users.user_id,
    users.interactions,
    users.n_categories,
    users.n_brands,
    by_category.breakdown_value as top_category,
    by_category.interactions as top_category_interactions,
    by_brand.breakdown_value as top_brand,
    by_brand.interactions as top_brand_interactions,
    users.first_day,
    users.last_day
from users
left join top_values as by_category
    on users.user_id = by_category.user_id and by_category.breakdown = 'category'
left join top_values as by_brand
    on users.user_id = by_brand.user_id and by_brand.breakdown = 'brand'
