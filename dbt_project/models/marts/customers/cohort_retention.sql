-- One row per acquisition cohort (month of a customer's first non-cancelled invoice) and
-- month since acquisition (0 = the cohort month), up to the last month with data.
-- active_customers = cohort customers with a non-cancelled invoice in that month;
-- retention_rate = active_customers / cohort_size (month 0 is 1.0 by construction).
with

orders as (

    select
        customer_id,
        cast(date_trunc('month', invoice_day) as date) as order_month
    from {{ ref('fct_orders') }}
    where customer_id is not null and not is_cancellation

),

customers as (

    select
        customer_id,
        cohort_month
    from {{ ref('dim_customers') }}
    where cohort_month is not null

),

last_month as (

    select max(order_month) as last_month from orders

),

cohort_sizes as (

    select
        cohort_month,
        count(*) as cohort_size
    from customers
    group by cohort_month

),

grid as (

    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_size,
        {{ int_series('0', dbt.datediff('cohort_sizes.cohort_month', 'last_month.last_month', 'month')) }}
            as months_since_first_order
    from cohort_sizes
    cross join last_month

),

activity as (

    select
        customers.cohort_month,
        cast(
            {{ dbt.datediff('customers.cohort_month', 'orders.order_month', 'month') }} as integer
        ) as months_since_first_order,
        count(distinct orders.customer_id) as active_customers
    from orders
    inner join customers
        on orders.customer_id = customers.customer_id
    group by all

)

select
    grid.cohort_month,
    grid.months_since_first_order,
    {{ add_months('grid.cohort_month', 'grid.months_since_first_order') }} as activity_month,
    grid.cohort_size,
    coalesce(activity.active_customers, 0) as active_customers,
    round(coalesce(activity.active_customers, 0) / grid.cohort_size, 4) as retention_rate
from grid
left join activity
    on
        grid.cohort_month = activity.cohort_month
        and grid.months_since_first_order = activity.months_since_first_order
