-- One row per merchandise stock code sold in the current or the prior period.
-- Periods: the var('trending_window_days') days (default 28) ending on the as-of day
-- (var('trending_as_of_date'), default the last invoice day), and the same number of days
-- just before. units_growth = current_units / prior_units - 1 (net units). Only products
-- selling at least var('trending_min_units') (default 20) net units in BOTH periods meet the
-- minimum volume and get a trend_rank (1 = fastest growing), so tiny bases do not dominate.
{%- set window_days = var('trending_window_days', 28) | int %}
{%- set min_units = var('trending_min_units', 20) | int %}
{%- set as_of = var('trending_as_of_date', none) %}
with

lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_merchandise

),

products as (

    select product_key, description from {{ ref('dim_products') }}

),

periods as (

    select
        as_of_day - {{ window_days - 1 }}                        as current_start,
        as_of_day                                                as current_end,
        as_of_day - {{ 2 * window_days - 1 }}                    as prior_start,
        as_of_day - {{ window_days }}                            as prior_end
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
        coalesce(sum(lines.quantity) filter (where lines.invoice_day >= periods.current_start), 0)  as current_units,
        coalesce(sum(lines.quantity) filter (where lines.invoice_day <= periods.prior_end), 0)      as prior_units,
        coalesce(sum(lines.net_amount) filter (where lines.invoice_day >= periods.current_start), 0) as current_revenue,
        coalesce(sum(lines.net_amount) filter (where lines.invoice_day <= periods.prior_end), 0)     as prior_revenue
    from lines
    cross join periods
    where lines.invoice_day between periods.prior_start and periods.current_end
    group by all

),

scored as (

    select
        *,
        current_units >= {{ min_units }} and prior_units >= {{ min_units }} as meets_min_volume,
        case when prior_units > 0 then current_units / prior_units - 1 end  as units_growth,
        case when prior_revenue > 0 then current_revenue / prior_revenue - 1 end as revenue_growth
    from by_product

)

select
    scored.product_key,
    scored.stock_code,
    products.description,
    scored.current_start,
    scored.current_end,
    scored.prior_start,
    scored.prior_end,
    cast(scored.current_units as bigint)                    as current_units,
    cast(scored.prior_units as bigint)                      as prior_units,
    cast(scored.current_revenue as decimal(18, 3))          as current_revenue,
    cast(scored.prior_revenue as decimal(18, 3))            as prior_revenue,
    round(scored.units_growth, 4)                           as units_growth,
    round(cast(scored.revenue_growth as double), 4)         as revenue_growth,
    scored.meets_min_volume,
    case when scored.meets_min_volume then
        row_number() over (
            partition by scored.meets_min_volume
            order by scored.units_growth desc, scored.current_units desc, scored.stock_code
        )
    end                                                     as trend_rank
from scored
left join products
    on scored.product_key = products.product_key
