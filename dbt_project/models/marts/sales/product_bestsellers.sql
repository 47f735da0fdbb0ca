-- One row per merchandise stock code ever sold: all-time net revenue and net units
-- (cancellations negative) with a rank on each (1 = best; ties broken by stock code).
-- The totals are kept by product (int_products__sales_totals, recomputed for the products a
-- refresh touches); the ranks are computed here over every product.
with

totals as (

    select * from {{ ref('int_products__sales_totals') }}

),

products as (

    select
        product_key,
        description
    from {{ ref('dim_products') }}

)

select
    totals.product_key,
    totals.stock_code,
    products.description,
    cast(totals.revenue as decimal(18, 3)) as revenue,
    cast(totals.units as bigint) as units,
    totals.orders,
    totals.customers,
    -- BIGINT on every engine (Spark's row_number is an INT)
    cast(row_number() over (order by totals.revenue desc, totals.stock_code asc) as bigint) as revenue_rank,
    cast(row_number() over (order by totals.units desc, totals.stock_code asc) as bigint) as units_rank
from totals
left join products
    on totals.product_key = products.product_key
