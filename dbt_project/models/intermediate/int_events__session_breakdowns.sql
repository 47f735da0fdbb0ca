-- One row per session and breakdown value (as in int_events__user_breakdowns: 'overall' /
-- 'all', 'category', 'brand' with 'unknown' for events without one): the session's events
-- of that value, the furthest funnel stage they reach (keyed_window.sql) and their first and
-- last event day. The clickstream state the session counts of category_popularity and
-- funnel_conversion count. Incremental by session (macros/keyed_window.sql).
{{ config(
    materialized=keyed_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='session_id',
    on_schema_change='fail',
    pre_hook="{{ delete_all_unless_windowed() }}",
    post_hook=["{{ delete_vanished_keys('session_id', 'first_day', 'last_day') }}", "{{ mark_keyed_window() }}"],
    meta={'tests_key': {'column': 'session_id', 'first_day': 'first_day', 'last_day': 'last_day'}},
) }}

with

events as (

    {{ keyed_window_events('session_id', 'first_day', 'last_day', from_first_day=true) }}

),

-- each event once per (session, category, brand); the breakdowns add these up
by_category_brand as {{ cte_not_materialized() }} (

    select
        session_id,
        category,
        brand,
        count(*) as n_events,
        max({{ funnel_stage('event_type') }}) as funnel_stage,
        min(event_day) as first_day,
        max(event_day) as last_day
    from events
    group by session_id, category, brand

),

breakdowns as (

    {{ clickstream_breakdowns() }}

),

long as (

    select
        r.session_id,
        b.breakdown,
        {{ breakdown_value('b.breakdown', 'r.category', 'r.brand') }} as breakdown_value,
        r.n_events,
        r.funnel_stage,
        r.first_day,
        r.last_day
    from by_category_brand as r
    cross join breakdowns as b

)

select
    session_id,
    breakdown,
    breakdown_value,
    cast(sum(n_events) as bigint) as n_events,
    max(funnel_stage) as funnel_stage,
    min(first_day) as first_day,
    max(last_day) as last_day
from long
group by session_id, breakdown, breakdown_value
{{ order_by_key_unless_windowed('session_id') }}
