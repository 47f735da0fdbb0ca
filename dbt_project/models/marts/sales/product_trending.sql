-- One row per merchandise stock code sold in the current or the prior period.
-- Periods: the var('trending_window_days') days (default 28) ending on the as-of day
-- (var('trending_as_of_date'), default the last invoice day), and the same number of days
-- just before. units_growth = current_units / prior_units - 1 (net units). Only products
-- selling at least var('trending_min_units') (default 20) net units in BOTH periods meet the
-- minimum volume, so tiny bases do not dominate.
-- Breadth rule (growth must not come from one order or one customer): in the current period
-- the product was bought in at least var('trending_min_orders') (default 3) distinct orders
-- by at least var('trending_min_customers') (default 3) distinct known customers, and no
-- single buyer bought more than var('trending_max_buyer_share') (default 0.5) of its units
-- there (non-cancelled lines; a guest order, without customer id, is a buyer of its own).
-- is_trending = meets_min_volume and meets_min_breadth; only those get a trend_rank
-- (1 = fastest growing).
{%- set window_days = var('trending_window_days', 28) | int %}
{%- set min_units = var('trending_min_units', 20) | int %}
{%- set min_orders = var('trending_min_orders', 3) | int %}
{%- set min_customers = var('trending_min_customers', 3) | int %}
{%- set max_buyer_share = var('trending_max_buyer_share', 0.5) | float %}
{%- set as_of = var('trending_as_of_date', none) %}
with

-- NOT MATERIALIZED: three parts read it, each only the last 2 x window_days days; DuckDB
-- would otherwise copy every merchandise line first
lines as {{ cte_not_materialized() }} (

    select * from {{ ref('fct_order_lines') }}
    where is_merchandise

),

products as (

    select
        product_key,
        description
    from {{ ref('dim_products') }}

),

periods as (

    select
        as_of_day - {{ window_days - 1 }} as current_start,
        as_of_day as current_end,
        as_of_day - {{ 2 * window_days - 1 }} as prior_start,
        as_of_day - {{ window_days }} as prior_end
    from (
        {% if as_of -%}
            select cast('{{ as_of }}' as date) as as_of_day
        {%- else -%}
            select max(invoice_day) as as_of_day from lines
        {%- endif %}
    ) as a

),

by_product as (

    select
        lines.product_key,
        lines.stock_code,
        periods.current_start,
        periods.current_end,
        periods.prior_start,
        periods.prior_end,
        coalesce(sum(lines.quantity) filter (where lines.invoice_day >= periods.current_start), 0) as current_units,
        coalesce(sum(lines.quantity) filter (where lines.invoice_day <= periods.prior_end), 0) as prior_units,
        coalesce(sum(lines.net_amount) filter (where lines.invoice_day >= periods.current_start), 0) as current_revenue,
        coalesce(sum(lines.net_amount) filter (where lines.invoice_day <= periods.prior_end), 0) as prior_revenue
    from lines
    cross join periods
    where lines.invoice_day between periods.prior_start and periods.current_end
    group by all

),

-- the current period's non-cancelled units by product, invoice and customer: the orders,
-- the customers and the buyers are counted from these rows (filtered distinct counts over
-- the period's lines and a buyer key built as text took three times as long at scale 10)
current_sales as (

    select
        lines.product_key,
        lines.invoice,
        lines.customer_id,
        sum(lines.quantity) as units
    from lines
    cross join periods
    where
        lines.invoice_day between periods.current_start and periods.current_end
        and not lines.is_cancellation
    group by lines.product_key, lines.invoice, lines.customer_id

),

breadth as (

    select
        product_key,
        count(distinct invoice) as current_orders,
        count(distinct customer_id) as current_customers
    from current_sales
    group by product_key

),

-- units each buyer bought in the current period (a guest order is a buyer of its own)
current_buyers as (

    select
        product_key,
        sum(units) as units
    from current_sales
    group by product_key, customer_id, case when customer_id is null then invoice end

),

concentration as (

    select
        product_key,
        case when sum(units) > 0 then cast(max(units) as double) / cast(sum(units) as double) end as top_buyer_share
    from current_buyers
    group by product_key

),

scored as (

    select
        by_product.*,
        coalesce(breadth.current_orders, 0) as current_orders,
        coalesce(breadth.current_customers, 0) as current_customers,
        concentration.top_buyer_share,
        by_product.current_units >= {{ min_units }} and by_product.prior_units >= {{ min_units }} as meets_min_volume,
        coalesce(breadth.current_orders, 0) >= {{ min_orders }}
        and coalesce(breadth.current_customers, 0) >= {{ min_customers }}
        and coalesce(concentration.top_buyer_share, 0) <= {{ max_buyer_share }} as meets_min_breadth,
        case when prior_units > 0 then current_units / prior_units - 1 end as units_growth,
        case
            when prior_revenue > 0 then cast(current_revenue as double) / cast(prior_revenue as double) - 1
        end as revenue_growth
    from by_product
    left join breadth
        on by_product.product_key = breadth.product_key
    left join concentration
        on by_product.product_key = concentration.product_key

)

select
    scored.product_key,
    scored.stock_code,
    products.description,
    scored.current_start,
    scored.current_end,
    scored.prior_start,
    scored.prior_end,
    cast(scored.current_units as bigint) as current_units,
    cast(scored.prior_units as bigint) as prior_units,
    cast(scored.current_revenue as decimal(18, 3)) as current_revenue,
    cast(scored.prior_revenue as decimal(18, 3)) as prior_revenue,
    round(scored.units_growth, 4) as units_growth,
    round(cast(scored.revenue_growth as double), 4) as revenue_growth,
    cast(scored.current_orders as bigint) as current_orders,
    cast(scored.current_customers as bigint) as current_customers,
    round(cast(scored.top_buyer_share as double), 4) as top_buyer_share,
    scored.meets_min_volume,
    scored.meets_min_breadth,
    scored.meets_min_volume and scored.meets_min_breadth as is_trending,
    case
        when scored.meets_min_volume and scored.meets_min_breadth
            then
                -- BIGINT on every engine (Spark's row_number is an INT)
                cast(row_number() over (
                    partition by scored.meets_min_volume and scored.meets_min_breadth
                    order by scored.units_growth desc, scored.current_units desc, scored.stock_code asc
                ) as bigint)
    end as trend_rank
from scored
left join products
    on scored.product_key = products.product_key
