-- The calendar span: whole years from the first to the last date found in the invoice
-- lines and the events (the current year when both are empty).
-- A table, not a view: its tests and the model that reads it would each re-run it over all history.
{{ config(materialized='table') }}

with

-- one pass over each source (min and max together)
bounds as (

    select
        min(min_day) as min_day,
        max(max_day) as max_day
    from (
        select
            min(invoice_day) as min_day,
            max(invoice_day) as max_day
        from {{ ref('stg_retail__transactions') }}
        union all
        -- the day of the first and last event time: the same days as min/max(event_day),
        -- but over the plain column DuckDB need not cast every event first
        select
            cast(min(event_time) as date),
            cast(max(event_time) as date)
        from {{ ref('stg_shop__events') }}
    ) as days

)

select
    make_date(cast(year(coalesce(min_day, current_date)) as integer), 1, 1) as start_date,
    make_date(cast(year(coalesce(max_day, current_date)) as integer), 12, 31) as end_date
from bounds
