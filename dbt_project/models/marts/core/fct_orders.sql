-- One row per invoice: its lines rolled up. An invoice's customer, country and date are
-- those of its lines (the earliest timestamp when a few invoices span two minutes).
-- Incremental by invoice (macros/keyed_window.sql): a landing-sensor run recomputes only the
-- invoices with a line in the window or whose first .. last line day overlaps it, from
-- their lines since the earliest first day among them (a literal date, so the scan of the
-- lines skips the days before it).
{{ config(
    materialized=keyed_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='invoice',
    on_schema_change='fail',
    pre_hook="{{ delete_all_unless_windowed() }}",
    post_hook=[
        "{{ delete_vanished_keys('invoice', 'invoice_day', state_last_day('last_line_day'), source=ref('fct_order_lines'), day_column='invoice_day') }}",
        "{{ mark_keyed_window() }}",
    ],
    meta={'tests_key': {'column': 'invoice', 'first_day': 'invoice_day', 'last_day': state_last_day('last_line_day')}},
) }}
{#- a table built before last_line_day existed gets it (NULL: recomputed by the next window) -#}
{%- do ensure_state_column('last_line_day', 'date') %}

with

lines as (

    {{ keyed_window_events(
        'invoice', 'invoice_day', state_last_day('last_line_day'), from_first_day=true,
        source=ref('fct_order_lines'), day_column='invoice_day'
    ) }}

)

select
    invoice,
    coalesce(max(nullif(customer_key, {{ unknown_key() }})), {{ unknown_key() }}) as customer_key,
    max(customer_id) as customer_id,
    {{ date_key('min(invoice_date)') }} as date_key,
    coalesce(max(nullif(country_key, {{ unknown_key() }})), {{ unknown_key() }}) as country_key,
    max(country) as country,
    min(invoice_date) as invoice_date,
    cast(min(invoice_date) as date) as invoice_day,
    count(*) as n_lines,
    cast(sum(quantity) as bigint) as units,
    cast(sum(net_amount) as decimal(18, 3)) as net_amount,
    cast(coalesce(sum(net_amount) filter (where is_merchandise), 0) as decimal(18, 3))
        as merchandise_amount,
    bool_or(is_cancellation) as is_cancellation,
    bool_or(is_merchandise) as has_merchandise,
    -- the day of the invoice's last line (most invoices: invoice_day), which the incremental
    -- build reads to find the invoices a window touches
    cast(max(invoice_date) as date) as last_line_day
from lines
group by invoice
