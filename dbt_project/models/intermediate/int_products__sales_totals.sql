-- One row per merchandise product sold: all-time net revenue and net units (cancellations
-- negative), the distinct non-cancelled invoices and customers with a line of it, and its
-- first and last invoice day. The state product_bestsellers ranks.
-- Incremental by product (macros/keyed_window.sql): a landing-sensor run recomputes only the
-- products with a line in the window or whose first .. last day overlaps it.
{{ config(
    materialized=keyed_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='product_key',
    on_schema_change='fail',
    pre_hook="{{ delete_all_unless_windowed() }}",
    post_hook=[
        "{{ delete_vanished_keys('product_key', 'first_day', 'last_day', source=ref('fct_order_lines'), day_column='invoice_day') }}",
        "{{ mark_keyed_window() }}",
    ],
    meta={'tests_key': {'column': 'product_key', 'first_day': 'first_day', 'last_day': 'last_day'}},
) }}

with

lines as (

    {{ keyed_window_events(
        'product_key', 'first_day', 'last_day', source=ref('fct_order_lines'), day_column='invoice_day'
    ) }}

)

select
    product_key,
    stock_code,
    sum(net_amount) as revenue,
    sum(quantity) as units,
    count(distinct invoice) filter (where not is_cancellation) as orders,
    count(distinct customer_id) filter (where not is_cancellation) as customers,
    min(invoice_day) as first_day,
    max(invoice_day) as last_day
from lines
where is_merchandise
group by product_key, stock_code
