-- One row per (stock_code, description, unit_price, is_sale) of invoice lines, description
-- NULL for the lines without one; is_sale = a non-cancelled line with a positive price.
-- n_lines, whether every line was merchandise, the first and last line's time and day. The
-- state int_products__sales_profile takes each stock code's descriptions, median price and
-- first and last sale from, so that a refresh does not re-read every line.
-- Incremental by stock code (macros/keyed_window.sql). When the window only appends days
-- (keyed_window_appends: every row's last day is before it), its lines are counted alone and
-- added to the touched stock codes' rows so far, instead of re-reading their history.
{{ config(
    materialized=keyed_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='stock_code',
    on_schema_change='fail',
    pre_hook="{{ delete_all_unless_windowed() }}",
    post_hook=[
        "{{ delete_vanished_keys('stock_code', 'first_day', 'last_day', source=ref('int_retail__order_lines'), day_column='invoice_day') }}",
        "{{ mark_keyed_window() }}",
    ],
    meta={'tests_key': {'column': 'stock_code', 'first_day': 'first_day', 'last_day': 'last_day'}},
) }}

{%- set appends = keyed_window_appends('last_day', source=ref('int_retail__order_lines'), day_column='invoice_day') %}

with

lines as (

    {{ keyed_window_input(
        appends, 'stock_code', 'first_day', 'last_day', source=ref('int_retail__order_lines'), day_column='invoice_day'
    ) }}

),

-- this build's rows: of the touched stock codes, or in an appending window of its lines only
price_rows as (

    select
        stock_code,
        description,
        unit_price,
        not is_cancellation and unit_price > 0 as is_sale,
        cast(count(*) as bigint) as n_lines,
        bool_and(is_merchandise) as is_merchandise,
        min(invoice_date) as first_sold_at,
        max(invoice_date) as last_sold_at,
        min(invoice_day) as first_day,
        max(invoice_day) as last_day
    from lines
    group by stock_code, description, unit_price, not is_cancellation and unit_price > 0

)

{% if appends -%}

    -- the touched stock codes' rows so far and the window's, added up
    select
        stock_code,
        description,
        unit_price,
        is_sale,
        cast(sum(n_lines) as bigint) as n_lines,
        bool_and(is_merchandise) as is_merchandise,
        min(first_sold_at) as first_sold_at,
        max(last_sold_at) as last_sold_at,
        min(first_day) as first_day,
        max(last_day) as last_day
    from (
        select * from price_rows
        union all
        select
            stock_code,
            description,
            unit_price,
            is_sale,
            n_lines,
            is_merchandise,
            first_sold_at,
            last_sold_at,
            first_day,
            last_day
        from {{ this }}
        where stock_code in (select stock_code from price_rows)
    ) as kept_and_window
    group by stock_code, description, unit_price, is_sale

{%- else %}

    select * from price_rows

{%- endif %}
