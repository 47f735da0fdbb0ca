{{ config(meta={'dagster': {'ref': {'name': 'funnel_conversion'}}}) }}
-- The funnel's overall session counts equal those of fct_sessions: the sessions with a
-- view, cart or purchase event, with a cart or purchase, with a purchase. The two are
-- built apart (funnel_conversion from int_events__session_breakdowns, fct_sessions from
-- fct_events), both kept by session in a sensor run: a session one of them missed fails it.
with

funnel as (

    select sessions_viewed, sessions_carted, sessions_purchased
    from {{ ref('funnel_conversion') }}
    where breakdown = 'overall'

),

sessions as (

    select
        count(*) filter (where views + carts + purchases > 0)  as sessions_viewed,
        count(*) filter (where carts + purchases > 0)          as sessions_carted,
        count(*) filter (where purchases > 0)                  as sessions_purchased
    from {{ ref('fct_sessions') }}

)

select
    funnel.sessions_viewed      as funnel_viewed,
    sessions.sessions_viewed    as fct_sessions_viewed,
    funnel.sessions_carted      as funnel_carted,
    sessions.sessions_carted    as fct_sessions_carted,
    funnel.sessions_purchased   as funnel_purchased,
    sessions.sessions_purchased as fct_sessions_purchased
from sessions
left join funnel on true  -- no events: no funnel row, and no session either
where coalesce(funnel.sessions_viewed, 0) <> sessions.sessions_viewed
   or coalesce(funnel.sessions_carted, 0) <> sessions.sessions_carted
   or coalesce(funnel.sessions_purchased, 0) <> sessions.sessions_purchased
