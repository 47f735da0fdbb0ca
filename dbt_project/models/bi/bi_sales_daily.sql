{{ config(alias='sales_daily') }}
-- Daily sales KPIs for dashboards (see marts.kpi_sales_daily for the definitions).
select
    cast(sales_day as date) as sales_date,
    cast(date_key as integer) as date_key,
    cast(is_weekend as boolean) as is_weekend,
    cast(is_uk_bank_holiday as boolean) as is_uk_bank_holiday,
    cast(revenue as decimal(18, 2)) as net_revenue,
    cast(gross_revenue as decimal(18, 2)) as gross_revenue,
    cast(cancelled_revenue as decimal(18, 2)) as cancelled_revenue,
    cast(orders as bigint) as orders,
    cast(cancellations as bigint) as cancellations,
    cast(units as bigint) as net_units,
    cast(unique_customers as bigint) as unique_customers,
    cast(aov as decimal(18, 2)) as average_order_value,
    cast(cancellation_rate as double) as cancellation_rate
from {{ ref('kpi_sales_daily') }}
