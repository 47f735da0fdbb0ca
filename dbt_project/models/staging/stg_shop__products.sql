-- Product catalogue: rename, cast, trim. No filtering.
{{ config(tags=['new_rows_tests']) }}  {#- a landing-sensor run tests only its new rows: macros/new_rows.sql #}
with

source as (

    select * from {{ source('raw', 'products') }}

),

renamed as (

    select
        trim(stock_code) as stock_code,
        cast(product_id as bigint) as product_id,
        nullif(trim(description), '') as description,
        nullif(trim(category), '') as category,
        nullif(trim(brand), '') as brand,
        cast(list_price as decimal(18, 2)) as list_price,

        _source_file,
        _source_sheet,
        _file_sha256,
        _row_number,
        _ingested_at,
        _run_id

    from source

)

select * from renamed
