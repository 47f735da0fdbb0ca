{{ config(alias='sales_country_daily') }}
-- Daily sales KPIs per country, for the dashboard's country filter (see
-- marts.kpi_sales_country_daily for the definitions).
select
    cast(sales_day as date) as sales_date,
    cast(country as string) as country,
    cast(revenue as decimal(18, 2)) as net_revenue,
    cast(gross_revenue as decimal(18, 2)) as gross_revenue,
    cast(cancelled_revenue as decimal(18, 2)) as cancelled_revenue,
    cast(orders as bigint) as orders,
    cast(cancellations as bigint) as cancellations,
    cast(units as bigint) as net_units,
    cast(new_customers as bigint) as new_customers
from {{ ref('kpi_sales_country_daily') }}
