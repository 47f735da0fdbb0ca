-- One row per stock code from the catalogue files: the most recently ingested version.
with

products as (

    select * from {{ ref('stg_shop__products') }}
    where stock_code is not null

),

ranked as (

    select
        *,
        row_number() over (
            partition by stock_code
            order by _ingested_at desc nulls last, _file_sha256 desc, _row_number desc
        ) as version_rank
    from products

)

select
    stock_code,
    product_id,
    description,
    category,
    brand,
    list_price
from ranked
where version_rank = 1
