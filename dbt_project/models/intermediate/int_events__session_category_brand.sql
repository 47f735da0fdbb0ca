-- One row per (session, category, brand) with events: the furthest funnel stage reached
-- (funnel_stage, see keyed_window.sql), the events, and the first and last event day. The
-- state the session counts of category_popularity and funnel_conversion add up instead of
-- grouping every event. session_key is a 64-bit hash of session_id: an 8-byte grouping key
-- for the funnel's (breakdown, value, session) groups (docs/benchmarks.md, Measured choices).
-- Incremental by session (macros/keyed_window.sql).
{{ config(
    materialized=keyed_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='session_id',
    on_schema_change='fail',
    pre_hook="{{ delete_all_unless_windowed() }}",
    post_hook="{{ delete_vanished_keys('session_id', 'first_day', 'last_day') }}",
) }}

with

events as (

    {{ keyed_window_events('session_id', 'first_day', 'last_day', from_first_day=true) }}

)

select
    session_id,
    {{ hash64('session_id') }} as session_key,
    category,
    brand,
    count(*) as n_events,
    max({{ funnel_stage('event_type') }}) as funnel_stage,
    min(event_day) as first_day,
    max(event_day) as last_day
from events
group by session_id, category, brand
