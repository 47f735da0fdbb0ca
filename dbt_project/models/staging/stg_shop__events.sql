-- Clickstream events: rename, cast, trim, normalise empty strings to NULL. No filtering.
{{ config(tags=['new_rows_tests']) }}  {#- a landing-sensor run tests only its new rows: macros/new_rows.sql #}
with

source as (

    select * from {{ source('raw', 'events') }}

),

renamed as (

    select
        cast(event_time as timestamp) as event_time,
        cast(event_time as date) as event_day,
        lower(trim(event_type)) as event_type,
        cast(product_id as bigint) as product_id,
        cast(category_id as bigint) as category_id,
        nullif(lower(trim(category_code)), '') as category_code,
        nullif(lower(trim(brand)), '') as brand,
        cast(price as decimal(18, 2)) as price,
        cast(user_id as bigint) as user_id,
        nullif(trim(user_session), '') as user_session,

        _source_file,
        _source_sheet,
        _file_sha256,
        _row_number,
        _ingested_at,
        _run_id

    from source

)

select * from renamed
