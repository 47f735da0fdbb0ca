{{ config(meta={'dagster': {'ref': {'name': 'kpi_sales_country_daily'}}}) }}
-- The dashboard's country and category filters read the breakdowns, its unfiltered view
-- the daily KPIs: they must agree. Each day's countries add up to kpi_sales_daily (money
-- to the cent, orders, cancellations, units), and each (day, country)'s categories add up
-- to kpi_sales_country_daily (money and units; orders do not add up over categories).
-- Returns the days or (day, country) pairs that disagree.
with

by_country as (

    select
        sales_day,
        sum(revenue) as revenue,
        sum(gross_revenue) as gross_revenue,
        sum(cancelled_revenue) as cancelled_revenue,
        sum(orders) as orders,
        sum(cancellations) as cancellations,
        sum(units) as units
    from {{ ref('kpi_sales_country_daily') }}
    group by sales_day

),

by_category as (

    select
        sales_day,
        country,
        sum(revenue) as revenue,
        sum(gross_revenue) as gross_revenue,
        sum(cancelled_revenue) as cancelled_revenue,
        sum(units) as units
    from {{ ref('kpi_sales_category_daily') }}
    group by sales_day, country

),

daily_mismatch as (

    select
        daily.sales_day,
        cast(null as string) as country,
        'kpi_sales_daily' as compared_with
    from {{ ref('kpi_sales_daily') }} as daily
    full outer join by_country
        on daily.sales_day = by_country.sales_day
    where
        coalesce(daily.revenue, 0) <> coalesce(by_country.revenue, 0)
        or coalesce(daily.gross_revenue, 0) <> coalesce(by_country.gross_revenue, 0)
        or coalesce(daily.cancelled_revenue, 0) <> coalesce(by_country.cancelled_revenue, 0)
        or coalesce(daily.orders, 0) <> coalesce(by_country.orders, 0)
        or coalesce(daily.cancellations, 0) <> coalesce(by_country.cancellations, 0)
        or coalesce(daily.units, 0) <> coalesce(by_country.units, 0)

),

country_mismatch as (

    select
        coalesce(country_daily.sales_day, by_category.sales_day) as sales_day,
        coalesce(country_daily.country, by_category.country) as country,
        'kpi_sales_country_daily' as compared_with
    from {{ ref('kpi_sales_country_daily') }} as country_daily
    full outer join by_category
        on
            country_daily.sales_day = by_category.sales_day
            and country_daily.country = by_category.country
    where
        coalesce(country_daily.revenue, 0) <> coalesce(by_category.revenue, 0)
        or coalesce(country_daily.gross_revenue, 0) <> coalesce(by_category.gross_revenue, 0)
        or coalesce(country_daily.cancelled_revenue, 0) <> coalesce(by_category.cancelled_revenue, 0)
        or coalesce(country_daily.units, 0) <> coalesce(by_category.units, 0)

)

select * from daily_mismatch
union all
select * from country_mismatch
