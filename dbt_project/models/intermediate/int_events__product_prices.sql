-- One row per (product_id, category, price) of events, price NULL for the events without
-- one: n_events, the events at that price, and first_day / last_day, their first and last
-- event day. The state category_price_stats takes each product's median price from, so that
-- a refresh does not re-read every event's price. Events without a price have their row too:
-- a product a corrected file leaves with only those still has a row, which replaces its old
-- priced ones (delete+insert on the key; delete_vanished_keys only deletes a product whose
-- every event is gone).
-- Incremental by product (macros/keyed_window.sql). When the window only appends days
-- (keyed_window_appends: every row's last day is before it), its events are counted alone and
-- added to the touched products' rows so far, instead of re-reading their history.
{{ config(
    materialized=keyed_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='product_id',
    on_schema_change='fail',
    pre_hook="{{ delete_all_unless_windowed() }}",
    post_hook=["{{ delete_vanished_keys('product_id', 'first_day', 'last_day') }}", "{{ mark_keyed_window() }}"],
    meta={'tests_key': {'column': 'product_id', 'first_day': 'first_day', 'last_day': 'last_day'}},
) }}

{%- set appends = keyed_window_appends('last_day') %}

with

events as (

    {{ keyed_window_input(appends, 'product_id', 'first_day', 'last_day') }}

),

-- this build's rows: of the touched products, or in an appending window of its events only
price_rows as (

    select
        product_id,
        category,
        price,
        cast(count(*) as bigint) as n_events,
        min(event_day) as first_day,
        max(event_day) as last_day
    from events
    group by product_id, category, price

)

{% if appends -%}

    -- the touched products' rows so far and the window's, added up
    select
        product_id,
        category,
        price,
        cast(sum(n_events) as bigint) as n_events,
        min(first_day) as first_day,
        max(last_day) as last_day
    from (
        select * from price_rows
        union all
        select
            product_id,
            category,
            price,
            n_events,
            first_day,
            last_day
        from {{ this }}
        where product_id in (select product_id from price_rows)
    ) as kept_and_window
    group by product_id, category, price

{%- else %}

    select * from price_rows

{%- endif %}
