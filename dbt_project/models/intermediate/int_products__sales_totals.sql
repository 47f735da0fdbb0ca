-- One row per merchandise product sold: all-time net revenue and net units (cancellations
-- negative), the distinct non-cancelled invoices and customers with a line of it, and its
-- first and last invoice day. The state product_bestsellers ranks.
-- Incremental by product (macros/keyed_window.sql): a landing-sensor run recomputes only the
-- products with a line in the window or whose first .. last day overlaps it. When the window
-- only appends days (keyed_window_appends: every product's last day is before it), their
-- totals so far plus the window's lines instead: an order or a customer counts when the
-- product had no earlier non-cancelled line of that invoice or that customer.
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

{%- set appends = keyed_window_appends('last_day', source=ref('fct_order_lines'), day_column='invoice_day') %}

with

{% if appends -%}

    window_lines as (

        select * from {{ ref('fct_order_lines') }}
        where {{ day_window_predicate('invoice_day') }} and is_merchandise

    ),

    window_sold as (

        select
            product_key,
            invoice,
            customer_id
        from window_lines
        where not is_cancellation

    ),

    -- the (product, invoice) and (product, customer) pairs the window sells, and those of them
    -- sold before it
    window_orders as (

        select distinct
            product_key,
            invoice
        from window_sold

    ),

    window_customers as (

        select distinct
            product_key,
            customer_id
        from window_sold
        where customer_id is not null

    ),

    earlier_sold as {{ cte_not_materialized() }} (

        select
            product_key,
            invoice,
            customer_id
        from {{ ref('fct_order_lines') }}
        where
            invoice_day < cast('{{ day_window_bounds()[0] }}' as date)
            and is_merchandise
            and not is_cancellation

    ),

    new_orders as (

        select
            window_orders.product_key,
            count(*) as orders
        from window_orders
        where
            not exists (
                select 1
                from earlier_sold
                where
                    earlier_sold.product_key = window_orders.product_key
                    and earlier_sold.invoice = window_orders.invoice
            )
        group by window_orders.product_key

    ),

    new_customers as (

        select
            window_customers.product_key,
            count(*) as customers
        from window_customers
        where
            not exists (
                select 1
                from earlier_sold
                where
                    earlier_sold.product_key = window_customers.product_key
                    and earlier_sold.customer_id = window_customers.customer_id
            )
        group by window_customers.product_key

    ),

    window_totals as (

        select
            product_key,
            stock_code,
            sum(net_amount) as revenue,
            sum(quantity) as units,
            min(invoice_day) as first_day,
            max(invoice_day) as last_day
        from window_lines
        group by product_key, stock_code

    )

    select
        window_totals.product_key,
        window_totals.stock_code,
        coalesce(kept.revenue, 0) + window_totals.revenue as revenue,
        coalesce(kept.units, 0) + window_totals.units as units,
        coalesce(kept.orders, 0) + coalesce(new_orders.orders, 0) as orders,
        coalesce(kept.customers, 0) + coalesce(new_customers.customers, 0) as customers,
        coalesce(kept.first_day, window_totals.first_day) as first_day,
        window_totals.last_day
    from window_totals
    left join {{ this }} as kept
        on window_totals.product_key = kept.product_key
    left join new_orders
        on window_totals.product_key = new_orders.product_key
    left join new_customers
        on window_totals.product_key = new_customers.product_key

{%- else -%}

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

{%- endif %}
