-- One row per invoice: its lines rolled up. An invoice's customer, country and date are
-- those of its lines (the earliest timestamp when a few invoices span two minutes).
with

lines as (

    select * from {{ ref('fct_order_lines') }}

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
    bool_or(is_merchandise) as has_merchandise
from lines
group by invoice
