-- One row per stock code seen on invoice lines: the canonical description (the most
-- frequent one over lines, ties broken alphabetically), how many distinct descriptions
-- occur, the median unit price of sold lines (non-cancelled, price > 0) and the first/last
-- sale.
-- A table, not a view: its tests and the model that reads it would each re-run it over all history.
{{ config(materialized='table') }}

with

-- NOT MATERIALIZED: read twice (descriptions, sales), each needing a few columns; DuckDB
-- would otherwise copy every line with all its columns first
lines as {{ cte_not_materialized() }} (

    select * from {{ ref('int_retail__order_lines') }}

),

description_counts as (

    select
        stock_code,
        description,
        count(*) as n_lines
    from lines
    where description is not null
    group by stock_code, description

),

-- the distinct descriptions counted from their groups (not a count distinct over every line)
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

sales as (

    select
        stock_code,
        bool_and(is_merchandise) as is_merchandise,
        median(unit_price) filter (where not is_cancellation and unit_price > 0) as median_unit_price,
        min(invoice_date) as first_sold_at,
        max(invoice_date) as last_sold_at
    from lines
    group by stock_code

)

select
    sales.stock_code,
    canonical.description,
    coalesce(descriptions.n_descriptions, 0) as n_descriptions,
    sales.is_merchandise,
    cast(sales.median_unit_price as decimal(18, 3)) as median_unit_price,
    sales.first_sold_at,
    sales.last_sold_at
from sales
left join descriptions
    on sales.stock_code = descriptions.stock_code
left join canonical
    on
        sales.stock_code = canonical.stock_code
        and canonical.description_rank = 1
