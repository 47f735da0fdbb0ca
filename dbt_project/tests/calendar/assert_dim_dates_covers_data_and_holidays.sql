{{ config(meta={'dagster': {'ref': {'name': 'dim_dates'}}}) }}
-- dim_dates is gap-free and every full year has 8 England & Wales bank holidays, plus the
-- one-off additions of the override seed (e.g. 9 in 2011 with the Royal Wedding).
with

dates as (

    select * from {{ ref('dim_dates') }}

),

overrides as (

    select
        cast(year(holiday_date) as integer) as yr,
        count(*) filter (where action = 'add') - count(*) filter (where action = 'remove') as extra
    from {{ ref('uk_bank_holiday_overrides') }}
    group by 1

),

per_year as (

    select year, count(*) as n_days, count(*) filter (where is_uk_bank_holiday) as n_holidays
    from dates
    group by year

),

gaps as (

    select 'gap before ' || cast(date_day as string) as problem
    from (select date_day, lag(date_day) over (order by date_day) as prev_day from dates) as d
    where prev_day is not null and {{ dbt.datediff('prev_day', 'date_day', 'day') }} <> 1

)

select problem from gaps
union all
select 'year ' || per_year.year || ' has ' || per_year.n_holidays || ' bank holidays'
from per_year
left join overrides on per_year.year = overrides.yr
where per_year.year >= 1978
  and per_year.n_days >= 365
  and per_year.n_holidays <> 8 + coalesce(overrides.extra, 0)
