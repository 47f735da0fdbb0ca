-- England & Wales bank holidays for every year of the calendar span, computed by rule
-- (Banking and Financial Dealings Act 1971 as amended; valid from 1978):
--   New Year's Day (1 Jan, or the next Monday if it falls on a weekend), Good Friday and
--   Easter Monday (Easter by the Gregorian computus, macros/calendar.sql), the first and
--   the last Monday of May, the last Monday of August, Christmas Day and Boxing Day with
--   substitute weekdays when they fall on a weekend.
-- One-off changes (moved or extra holidays, e.g. the 2011 Royal Wedding) come from the seed
-- uk_bank_holiday_overrides (action add / remove).
-- A table, not a view: its tests and the model that reads it would each re-run it over all history.
{{ config(materialized='table') }}

with

date_range as (

    select * from {{ ref('int_calendar__date_range') }}

),

overrides as (

    select * from {{ ref('uk_bank_holiday_overrides') }}

),

years as (

    select {{ int_series('year(start_date)', 'year(end_date)') }} as yr
    from date_range

),

anchors as (

    select
        yr,
        make_date(yr, 1, 1) as new_year,
        make_date(yr, 12, 25) as christmas,
        {{ easter_sunday('yr') }} as easter_sunday,
        make_date(yr, 5, 1) as may_first,
        make_date(yr, 5, 31) as may_last,
        make_date(yr, 8, 31) as august_last
    from years

),

by_rule as (

    select
        case {{ iso_day_of_week('new_year') }} when 6 then new_year + 2 when 7 then new_year + 1 else new_year end
            as holiday_date,
        'New Year''s Day' || case when {{ iso_day_of_week('new_year') }} >= 6 then ' (substitute day)' else '' end
            as holiday_name
    from anchors

    union all
    select
        easter_sunday - 2,
        'Good Friday'
    from anchors

    union all
    select
        easter_sunday + 1,
        'Easter Monday'
    from anchors

    union all
    select
        {{ first_weekday_on_or_after('may_first', 1) }},
        'Early May bank holiday'
    from anchors
    where yr >= 1978

    union all
    select
        {{ last_weekday_on_or_before('may_last', 1) }},
        'Spring bank holiday'
    from anchors

    union all
    select
        {{ last_weekday_on_or_before('august_last', 1) }},
        'Summer bank holiday'
    from anchors

    -- Christmas on Saturday or Sunday: substitute Monday 27th or Tuesday 27th
    union all
    select
        case when {{ iso_day_of_week('christmas') }} >= 6 then christmas + 2 else christmas end,
        'Christmas Day' || case when {{ iso_day_of_week('christmas') }} >= 6 then ' (substitute day)' else '' end
    from anchors

    -- Boxing Day on Saturday (Christmas Friday) or Sunday (Christmas Saturday): Monday/Tuesday 28th;
    -- when Christmas is a Sunday, Boxing Day keeps Monday 26th
    union all
    select
        case when {{ iso_day_of_week('christmas') }} in (5, 6) then christmas + 3 else christmas + 1 end,
        'Boxing Day' || case when {{ iso_day_of_week('christmas') }} in (5, 6) then ' (substitute day)' else '' end
    from anchors

),

kept as (

    select
        by_rule.holiday_date,
        by_rule.holiday_name
    from by_rule
    where not exists (
        select 1 from overrides
        where
            overrides.action = 'remove'
            and overrides.holiday_date = by_rule.holiday_date
    )

),

added as (

    select
        overrides.holiday_date,
        overrides.holiday_name
    from overrides
    cross join date_range
    where
        overrides.action = 'add'
        and overrides.holiday_date between date_range.start_date and date_range.end_date

)

select
    cast(holiday_date as date) as holiday_date,
    cast(year(holiday_date) as integer) as holiday_year,
    {{ string_agg_sorted('holiday_name', "' / '") }} as holiday_name
from (
    select * from kept
    union all
    select * from added
) as holidays
group by holiday_date
