{{ config(alias='cohort_retention') }}
-- Monthly acquisition cohorts and their retention.
select
    cast(cohort_month as date) as cohort_month,
    cast(months_since_first_order as integer) as months_since_first_order,
    cast(activity_month as date) as activity_month,
    cast(cohort_size as bigint) as cohort_size,
    cast(active_customers as bigint) as active_customers,
    cast(retention_rate as double) as retention_rate
from {{ ref('cohort_retention') }}
