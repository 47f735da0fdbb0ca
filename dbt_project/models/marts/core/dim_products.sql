-- One row per stock code seen on invoice lines or in the catalogue, plus the "unknown
-- product" member (product_key = -1) that events without a catalogued product point to.
with

sales as (

    select * from {{ ref('int_products__sales_profile') }}

),

catalogue as (

    select * from {{ ref('int_products__catalogue') }}

),

non_merchandise_codes as (

    select
        upper(code) as code,
        match_type
    from {{ ref('non_merchandise_codes') }}

),

stock_codes as (

    select stock_code from sales
    union
    select stock_code from catalogue

),

known as (

    select
        {{ stable_key('stock_codes.stock_code') }} as product_key,
        stock_codes.stock_code,
        catalogue.product_id,
        coalesce(sales.description, catalogue.description) as description,
        coalesce(sales.n_descriptions, 0) as n_descriptions,
        catalogue.category,
        catalogue.brand,
        not exists (
            select 1 from non_merchandise_codes as nm
            where
                (nm.match_type = 'exact' and upper(stock_codes.stock_code) = nm.code)
                or (nm.match_type = 'prefix' and {{ starts_with('upper(stock_codes.stock_code)', 'nm.code') }})
        ) as is_merchandise,
        sales.median_unit_price,
        catalogue.list_price,
        sales.first_sold_at,
        sales.last_sold_at,
        catalogue.stock_code is not null as in_catalogue,
        false as is_unknown_member
    from stock_codes
    left join sales
        on stock_codes.stock_code = sales.stock_code
    left join catalogue
        on stock_codes.stock_code = catalogue.stock_code

),

unknown_member as (

    select
        {{ unknown_key() }} as product_key,
        cast(null as string) as stock_code,
        cast(null as bigint) as product_id,
        'Unknown product' as description,
        cast(0 as bigint) as n_descriptions,
        cast(null as string) as category,
        cast(null as string) as brand,
        false as is_merchandise,
        cast(null as decimal(18, 3)) as median_unit_price,
        cast(null as decimal(18, 2)) as list_price,
        cast(null as timestamp) as first_sold_at,
        cast(null as timestamp) as last_sold_at,
        false as in_catalogue,
        true as is_unknown_member

)

select * from known
union all
select * from unknown_member
