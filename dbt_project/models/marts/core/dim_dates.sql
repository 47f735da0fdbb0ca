-- Calendar: one row per day over whole years covering every invoice and event date.
with

date_range as (

    select * from {{ ref('int_calendar__date_range') }}

),

bank_holidays as (

    select * from {{ ref('int_calendar__uk_bank_holidays') }}

),

days as (

    select cast(date_day as date) as date_day
    from (
        select {{ day_series('start_date', 'end_date') }} as date_day
        from date_range
    ) as series

)

select
    {{ date_key('days.date_day') }} as date_key,
    days.date_day,
    cast(year(days.date_day) as integer) as year,
    cast(quarter(days.date_day) as integer) as quarter,
    cast(month(days.date_day) as integer) as month,
    {{ month_name('days.date_day') }} as month_name,
    cast(date_trunc('month', days.date_day) as date) as month_start,
    cast(day(days.date_day) as integer) as day_of_month,
    cast(dayofyear(days.date_day) as integer) as day_of_year,
    cast({{ iso_day_of_week('days.date_day') }} as integer) as iso_day_of_week,
    {{ day_name('days.date_day') }} as day_name,
    cast({{ iso_year('days.date_day') }} as integer) as iso_year,
    cast(weekofyear(days.date_day) as integer) as iso_week,
    cast(date_trunc('week', days.date_day) as date) as iso_week_start,
    {{ iso_day_of_week('days.date_day') }} >= 6 as is_weekend,
    bank_holidays.holiday_date is not null as is_uk_bank_holiday,
    bank_holidays.holiday_name as uk_bank_holiday_name,
    {{ iso_day_of_week('days.date_day') }} < 6 and bank_holidays.holiday_date is null as is_uk_working_day
from days
left join bank_holidays
    on days.date_day = bank_holidays.holiday_date
