-- One row per stock code seen on invoice lines: the canonical description (the most
-- frequent one over lines, ties broken alphabetically), how many distinct descriptions
-- occur, the median unit price of sold lines (non-cancelled, price > 0) and the first/last
-- sale. From the lines counted by stock code, description and price
-- (int_products__line_prices), kept by stock code, not from every line.
-- A table, not a view: its tests and the model that reads it would each re-run it.
{{ config(materialized='table') }}

with

line_prices as (

    select * from {{ ref('int_products__line_prices') }}

),

description_counts as (

    select
        stock_code,
        description,
        sum(n_lines) as n_lines
    from line_prices
    where description is not null
    group by stock_code, description

),

descriptions as (

    select
        stock_code,
        count(*) as n_descriptions
    from description_counts
    group by stock_code

),

canonical as (

    select
        stock_code,
        description,
        row_number() over (
            partition by stock_code
            order by n_lines desc, description asc
        ) as description_rank
    from description_counts

),

-- the median of the sold lines' prices from their counts (middle_values)
price_counts as (

    select
        stock_code,
        unit_price,
        sum(n_lines) as n
    from line_prices
    where is_sale
    group by stock_code, unit_price

),

middle as (

    {{ middle_values('price_counts', ['stock_code'], 'unit_price', 'n') }}

),

-- halfway between the two, in thousandths rounded down: what DuckDB's median() of the lines
-- gave (1.001 and 1.004 give 1.002)
medians as (

    select
        stock_code,
        cast(
            (
                cast(lower_value * 1000 as bigint)
                + {{ int_div('cast(upper_value * 1000 as bigint) - cast(lower_value * 1000 as bigint)', '2') }}
            ) * 0.001 as decimal(18, 3)
        ) as median_unit_price
    from middle

),

sales as (

    select
        stock_code,
        bool_and(is_merchandise) as is_merchandise,
        min(first_sold_at) as first_sold_at,
        max(last_sold_at) as last_sold_at
    from line_prices
    group by stock_code

)

select
    sales.stock_code,
    canonical.description,
    coalesce(descriptions.n_descriptions, 0) as n_descriptions,
    sales.is_merchandise,
    medians.median_unit_price,
    sales.first_sold_at,
    sales.last_sold_at
from sales
left join descriptions
    on sales.stock_code = descriptions.stock_code
left join canonical
    on
        sales.stock_code = canonical.stock_code
        and canonical.description_rank = 1
left join medians
    on sales.stock_code = medians.stock_code
