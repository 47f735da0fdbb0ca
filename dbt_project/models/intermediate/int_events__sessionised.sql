-- Events with a session: the shop's user_session when given, otherwise a session derived
-- per user by an inactivity gap of var('session_gap_minutes') (default 30) minutes,
-- named 'derived:<user_id>:<n>' (macros/sessions.sql, which fct_events' day window uses too).
-- `events` is NOT MATERIALIZED: both branches read it, and DuckDB would otherwise copy
-- every event into a materialised CTE before either branch starts; scanning the view
-- twice (once filtered to the rows without a session) is much cheaper.
with

events as {{ cte_not_materialized() }} (

    select * from {{ ref('stg_shop__events') }}

),

without_session as (

    select
        *,
        {{ starts_derived_session() }} as starts_session
    from events
    where user_session is null
    window by_user as ({{ derived_session_order() }})

),

derived as (

    select
        {{ star_except("starts_session") }},
        {{ derived_session_id() }} as session_id,
        true as is_derived_session
    from without_session

),

given as (

    select
        *,
        user_session as session_id,
        false as is_derived_session
    from events
    where user_session is not null

)

-- `given` and `derived` have the same columns in the same order (the event columns, then
-- session_id, is_derived_session), so a positional UNION ALL is the by-name union
select * from given
union all
select * from derived
