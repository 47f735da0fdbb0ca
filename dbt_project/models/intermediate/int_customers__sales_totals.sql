-- One row per customer id seen on any invoice line (after duplicates are dropped): first
-- and last line, purchases (non-cancelled invoices), cancellations, net amount, the first
-- merchandise purchase and the customer's most frequent country. The state dim_customers,
-- customer_rfm and kpi_sales_country_daily's new customers read instead of every line.
-- Incremental by customer (macros/keyed_window.sql): a landing-sensor run recomputes only
-- the customers with a line in the window or whose first .. last day overlaps it.
{{ config(
    materialized=keyed_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    on_schema_change='fail',
    pre_hook="{{ delete_all_unless_windowed() }}",
    post_hook=[
        "{{ delete_vanished_keys('customer_id', 'first_day', 'last_day', source=ref('int_retail__order_lines'), day_column='invoice_day') }}",
        "{{ mark_keyed_window() }}",
    ],
    meta={'tests_key': {'column': 'customer_id', 'first_day': 'first_day', 'last_day': 'last_day'}},
) }}

with

lines as (

    select * from (
        {{ keyed_window_events(
            'customer_id', 'first_day', 'last_day', source=ref('int_retail__order_lines'), day_column='invoice_day'
        ) }}
    ) as touched_lines
    where customer_id is not null

),

-- most frequent country by number of distinct invoices; ties broken alphabetically
country_ranked as (

    select
        customer_id,
        country,
        row_number() over (
            partition by customer_id
            order by count(distinct invoice) desc, country asc nulls last
        ) as country_rank
    from lines
    group by customer_id, country

),

history as (

    select
        customer_id,
        min(invoice_date) as first_seen_at,
        min(invoice_date) filter (where not is_cancellation) as first_order_at,
        max(invoice_date) filter (where not is_cancellation) as last_order_at,
        count(distinct invoice) filter (where not is_cancellation) as n_orders,
        count(distinct invoice) filter (where is_cancellation) as n_cancellations,
        cast(sum(net_amount) as decimal(18, 3)) as net_amount,
        min(invoice_day) filter (where is_merchandise and not is_cancellation)
            as first_merchandise_day,
        min_by(country, invoice_date) filter (where is_merchandise and not is_cancellation)
            as first_merchandise_country,
        min(invoice_day) as first_day,
        max(invoice_day) as last_day
    from lines
    group by customer_id

)

select
    history.customer_id,
    country_ranked.country,
    history.first_seen_at,
    history.first_order_at,
    history.last_order_at,
    history.n_orders,
    history.n_cancellations,
    history.net_amount,
    history.first_merchandise_day,
    history.first_merchandise_country,
    history.first_day,
    history.last_day
from history
left join country_ranked
    on
        history.customer_id = country_ranked.customer_id
        and country_ranked.country_rank = 1
