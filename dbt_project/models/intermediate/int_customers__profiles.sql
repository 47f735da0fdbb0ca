-- One row per customer id from the profile files: the most recently ingested version
-- (ties: later file sha256, later row). Personal data (name, email) is left behind.
with

profiles as (

    select * from {{ ref('stg_shop__customers') }}
    where customer_id is not null

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by _ingested_at desc nulls last, _file_sha256 desc, _row_number desc
        ) as version_rank
    from profiles

)

select
    customer_id,
    birth_date,
    birth_year,
    income,
    household_size,
    signup_date,
    channel,
    country,
    _ingested_at as profile_ingested_at
from ranked
where version_rank = 1
