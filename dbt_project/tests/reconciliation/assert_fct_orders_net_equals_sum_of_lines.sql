{{ config(meta={'dagster': {'ref': {'name': 'fct_orders'}}}) }}
-- Every invoice's net_amount, n_lines and units equal the sums over its lines, and every
-- invoice of the order lines has its fct_orders row.
-- The lines are read from int_retail__order_lines, which fct_order_lines copies row for row
-- (same rows and columns; a day window only chooses which days are rebuilt), and
-- tests/reconciliation/assert_fct_order_lines_reconcile_with_raw.sql plus fct_order_lines'
-- equal_sum hold that copy to raw. It also fails, rightly, when
-- fct_order_lines lags behind its input (a day not rebuilt), since fct_orders then misses
-- those invoices.
with

lines as (

    select
        invoice,
        count(*)                        as n_lines,
        cast(sum(quantity) as bigint)   as units,
        sum(net_amount)                 as net_amount
    from {{ ref('int_retail__order_lines') }}
    group by invoice

)

select
    coalesce(orders.invoice, lines.invoice) as invoice,
    orders.net_amount   as order_net_amount,
    lines.net_amount    as lines_net_amount,
    orders.n_lines      as order_n_lines,
    lines.n_lines       as lines_n_lines
from {{ ref('fct_orders') }} as orders
full outer join lines
    on orders.invoice = lines.invoice
where orders.invoice is null
   or lines.invoice is null
   or orders.net_amount <> lines.net_amount
   or orders.n_lines <> lines.n_lines
   or orders.units <> lines.units
