-- Customer profiles: rename, cast, trim. full_name and email are personal data: they are
-- kept here only so that a data steward can audit the source, and no downstream model
-- selects them.
{{ config(tags=['new_rows_tests']) }}  {#- a landing-sensor run tests only its new rows: macros/new_rows.sql #}
with

source as (

    select * from {{ source('raw', 'customers') }}

),

renamed as (

    select
        cast(customer_id as bigint) as customer_id,
        nullif(trim(full_name), '') as full_name,
        nullif(lower(trim(email)), '') as email,
        cast(birth_date as date) as birth_date,
        cast(year(birth_date) as integer) as birth_year,
        cast(income as decimal(18, 2)) as income,
        cast(household_size as integer) as household_size,
        cast(signup_date as date) as signup_date,
        nullif(lower(trim(channel)), '') as channel,
        nullif(trim(country), '') as country,

        _source_file,
        _source_sheet,
        _file_sha256,
        _row_number,
        _ingested_at,
        _run_id

    from source

)

select * from renamed
