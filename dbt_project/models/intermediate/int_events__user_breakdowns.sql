-- One row per user and breakdown value: breakdown 'overall' (value 'all'), 'category'
-- (category_code, 'unknown' when none) or 'brand' ('unknown' for events without a brand).
-- The clickstream state the per-user marts count and add up (user_engagement,
-- user_top_category_brand, the user counts of category_popularity and funnel_conversion):
--   interactions, views, carts, removes_from_cart, purchases, purchase_revenue: the user's
--     events of that value; for 'brand', only events that have a brand (so the value
--     'unknown' counts none of those without one);
--   funnel_stage: the furthest funnel stage over all the value's events (keyed_window.sql);
--   first_day, last_day: the user's first and last event day of the value.
-- Incremental by user (macros/keyed_window.sql). When the window only appends days
-- (keyed_window_appends: every row's last day is before it), its events are counted alone and
-- added to the touched users' rows so far, instead of re-reading their history.
{{ config(
    materialized=keyed_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='user_id',
    on_schema_change='fail',
    pre_hook="{{ delete_all_unless_windowed() }}",
    post_hook=["{{ delete_vanished_keys('user_id', 'first_day', 'last_day') }}", "{{ mark_keyed_window() }}"],
    meta={'tests_key': {'column': 'user_id', 'first_day': 'first_day', 'last_day': 'last_day'}},
) }}

{%- set appends = keyed_window_appends('last_day') %}

with

events as (

    {{ keyed_window_input(appends, 'user_id', 'first_day', 'last_day') }}

),

-- each event once per (user, category, brand); the breakdowns add these up
by_category_brand as {{ cte_not_materialized() }} (

    select
        user_id,
        category,
        brand,
        count(*) as interactions,
        count(*) filter (where event_type = 'view') as views,
        count(*) filter (where event_type = 'cart') as carts,
        count(*) filter (where event_type = 'remove_from_cart') as removes_from_cart,
        count(*) filter (where event_type = 'purchase') as purchases,
        coalesce(sum(price) filter (where event_type = 'purchase'), 0) as purchase_revenue,
        max({{ funnel_stage('event_type') }}) as funnel_stage,
        min(event_day) as first_day,
        max(event_day) as last_day
    from events
    group by user_id, category, brand

),

breakdowns as (

    {{ clickstream_breakdowns() }}

),

long as (

    select
        b.breakdown,
        {{ breakdown_value('b.breakdown', 'r.category', 'r.brand') }} as breakdown_value,
        -- a 'brand' row counts the events that have a brand
        b.breakdown <> 'brand' or r.brand is not null as counted,
        r.*
    from by_category_brand as r
    cross join breakdowns as b

),

-- this build's rows: of the touched users, or in an appending window of its events only
breakdown_rows as (

    select
        user_id,
        breakdown,
        breakdown_value,
        cast(coalesce(sum(interactions) filter (where counted), 0) as bigint) as interactions,
        cast(coalesce(sum(views) filter (where counted), 0) as bigint) as views,
        cast(coalesce(sum(carts) filter (where counted), 0) as bigint) as carts,
        cast(coalesce(sum(removes_from_cart) filter (where counted), 0) as bigint) as removes_from_cart,
        cast(coalesce(sum(purchases) filter (where counted), 0) as bigint) as purchases,
        cast(coalesce(sum(purchase_revenue) filter (where counted), 0) as decimal(18, 2)) as purchase_revenue,
        max(funnel_stage) as funnel_stage,
        min(first_day) as first_day,
        max(last_day) as last_day
    from long
    group by user_id, breakdown, breakdown_value

)

{% if appends -%}

    -- the touched users' rows so far and the window's, added up
    select
        user_id,
        breakdown,
        breakdown_value,
        cast(sum(interactions) as bigint) as interactions,
        cast(sum(views) as bigint) as views,
        cast(sum(carts) as bigint) as carts,
        cast(sum(removes_from_cart) as bigint) as removes_from_cart,
        cast(sum(purchases) as bigint) as purchases,
        cast(sum(purchase_revenue) as decimal(18, 2)) as purchase_revenue,
        max(funnel_stage) as funnel_stage,
        min(first_day) as first_day,
        max(last_day) as last_day
    from (
        select * from breakdown_rows
        union all
        select
            user_id,
            breakdown,
            breakdown_value,
            interactions,
            views,
            carts,
            removes_from_cart,
            purchases,
            purchase_revenue,
            funnel_stage,
            first_day,
            last_day
        from {{ this }}
        where user_id in (select user_id from breakdown_rows)
    ) as kept_and_window
    group by user_id, breakdown, breakdown_value

{%- else %}

    select * from breakdown_rows

{%- endif %}
