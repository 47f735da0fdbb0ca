-- One row per merchandise stock code ever sold: all-time net revenue and net units
-- (cancellations negative) with a rank on each (1 = best; ties broken by stock code).
with

lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_merchandise

),

products as (

    select
        product_key,
        description
    from {{ ref('dim_products') }}

),

totals as (

    select
        product_key,
        stock_code,
        sum(net_amount) as revenue,
        sum(quantity) as units,
        count(distinct invoice) filter (where not is_cancellation) as orders,
        count(distinct customer_id) filter (where not is_cancellation) as customers
    from lines
    group by product_key, stock_code

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
