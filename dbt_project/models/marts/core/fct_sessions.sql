-- One row per session: user_session is the shop's session id, or 'derived:<user>:<n>' for
-- events that came without one (see int_events__sessionised).
-- converted = at least one purchase; revenue = sum of purchase event prices.
-- Incremental by session (macros/keyed_window.sql): a landing-sensor run recomputes only the
-- sessions with an event in the window or a row overlapping it.
{{ config(
    materialized=keyed_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='user_session',
    on_schema_change='fail',
    pre_hook="{{ delete_all_unless_windowed() }}",
    post_hook=[
        "{{ delete_vanished_keys('session_id', session_first_day(), session_last_day(), 'user_session') }}",
        "{{ mark_keyed_window() }}",
    ],
    meta={'tests_key': {'column': 'user_session', 'first_day': session_first_day(), 'last_day': session_last_day()}},
) }}

with

events as (

    {{ keyed_window_events(
        'session_id', session_first_day(), session_last_day(), from_first_day=true, model_key='user_session'
    ) }}

)

select
    session_id as user_session,
    bool_or(is_derived_session) as is_derived_session,
    min_by(user_id, event_time) as user_id,
    count(distinct user_id) as n_users,
    min(event_time) as started_at,
    max(event_time) as ended_at,
    cast({{ dbt.datediff('min(event_time)', 'max(event_time)', 'second') }} as bigint) as duration_seconds,
    {{ date_key('min(event_time)') }} as date_key,
    count(*) as n_events,
    count(*) filter (where event_type = 'view') as views,
    count(*) filter (where event_type = 'cart') as carts,
    count(*) filter (where event_type = 'remove_from_cart') as removes_from_cart,
    count(*) filter (where event_type = 'purchase') as purchases,
    count(*) filter (where event_type = 'purchase') > 0 as converted,
    cast(coalesce(sum(price) filter (where event_type = 'purchase'), 0) as decimal(18, 2)) as revenue
from events
group by session_id
