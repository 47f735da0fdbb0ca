-- One row per (user, category, brand) with events: interactions by event type, purchase
-- revenue, the furthest funnel stage reached (funnel_stage, see keyed_window.sql) and the
-- first and last event day. The state the per-user clickstream marts (user_engagement,
-- user_top_category_brand, the user counts of category_popularity and funnel_conversion)
-- add up instead of grouping every event. Incremental by user (macros/keyed_window.sql).
{{ config(
    materialized=keyed_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='user_id',
    on_schema_change='fail',
    pre_hook="{{ delete_all_unless_windowed() }}",
    post_hook="{{ delete_vanished_keys('user_id', 'first_day', 'last_day') }}",
) }}

with

events as (

    {{ keyed_window_events('user_id', 'first_day', 'last_day') }}

)

select
    user_id,
    category,
    brand,
    count(*) as interactions,
    count(*) filter (where event_type = 'view') as views,
    count(*) filter (where event_type = 'cart') as carts,
    count(*) filter (where event_type = 'remove_from_cart') as removes_from_cart,
    count(*) filter (where event_type = 'purchase') as purchases,
    cast(coalesce(sum(price) filter (where event_type = 'purchase'), 0) as decimal(18, 2)) as purchase_revenue,
    max({{ funnel_stage('event_type') }}) as funnel_stage,
    min(event_day) as first_day,
    max(event_day) as last_day
from events
group by user_id, category, brand
