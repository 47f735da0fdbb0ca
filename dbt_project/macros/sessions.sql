{#-
    Derived sessions: an event without the shop's user_session gets a session derived per
    user, a new one after a gap of more than var('session_gap_minutes') (default 30) minutes
    between two of the user's session-less events, ordered by event time, then file sha256
    and row number. The session is named 'derived:<user_id>:<n>', n counting the user's
    derived sessions from the first. int_events__sessionised numbers every event this way;
    fct_events, built for a day window, numbers only the window's events of the users with a
    session-less event in it (sessionised_window_events), from the same macros.
-#}

{#- the order of a user's session-less events (a WINDOW clause body) -#}
{% macro derived_session_order() -%}
    partition by user_id order by event_time, _file_sha256, _row_number
{%- endmacro %}

{#- 1 when the event starts a derived session, else 0 (over a window `by_user`, ordered by
    derived_session_order) -#}
{% macro starts_derived_session() -%}
    case
        when lag(event_time) over by_user is null then 1
        when
            event_time - lag(event_time) over by_user
            > interval {{ var('session_gap_minutes', 30) | int }} minute then 1
        else 0
    end
{%- endmacro %}

{#- the derived session's name, from the running count of starts_session -#}
{% macro derived_session_id() -%}
    'derived:' || cast(user_id as string) || ':'
    || cast(sum(starts_session) over (
        {{ derived_session_order() }}
        rows between unbounded preceding and current row
    ) as string)
{%- endmacro %}

{#-
    The events of the day window with their session, as int_events__sessionised gives them,
    for fct_events built incrementally. The window's events are read from the staging view by
    event time (the raw table's zone maps skip the other days); a derived session is numbered
    over the user's whole history, which is the window's session-less events plus the user's
    derived-session events of the other days, already in fct_events (days outside the window
    are not rebuilt: their events are unchanged). The sessionisation view would instead read
    every event to find the session-less ones (a second scan of the whole history).
-#}
{% macro sessionised_window_events() -%}
    {%- set start, end = day_window_bounds() -%}
    select
        window_events.*,
        coalesce(numbered.session_id, window_events.user_session) as session_id,
        window_events.user_session is null as is_derived_session
    from {{ ref('stg_shop__events') }} as window_events
    left join (
        select
            _file_sha256,
            _row_number,
            {{ derived_session_id() }} as session_id
        from (
            select
                *,
                {{ starts_derived_session() }} as starts_session
            from (
                select user_id, event_time, _file_sha256, _row_number
                from {{ ref('stg_shop__events') }}
                where {{ day_window_time_predicate('event_time') }} and user_session is null
                union all
                select user_id, event_time, _file_sha256, _row_number
                from {{ this }}
                where
                    is_derived_session
                    and not {{ day_window_predicate('event_day') }}
                    and user_id in (
                        select user_id
                        from {{ ref('stg_shop__events') }}
                        where {{ day_window_time_predicate('event_time') }} and user_session is null
                    )
            ) as history
            window by_user as ({{ derived_session_order() }})
        ) as flagged
    ) as numbered
        on
            window_events._file_sha256 = numbered._file_sha256
            and window_events._row_number = numbered._row_number
    where {{ day_window_time_predicate('window_events.event_time') }}
{%- endmacro %}
