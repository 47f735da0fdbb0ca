{{ config(meta={'dagster': {'ref': {'name': 'reconciliation_order_lines'}}}) }}
-- The reconciliation mart balances: source total - sum(exclusions) = target total, to the
-- cent, and its 'difference' row is zero.
with

steps as (

    select * from {{ ref('reconciliation_order_lines') }}

),

totals as (

    select
        sum(n_lines) filter (where step_type = 'source_total')                  as source_lines,
        coalesce(sum(n_lines) filter (where step_type = 'exclusion'), 0)        as excluded_lines,
        sum(n_lines) filter (where step_type = 'target_total')                  as target_lines,
        sum(amount) filter (where step_type = 'source_total')                   as source_amount,
        coalesce(sum(amount) filter (where step_type = 'exclusion'), 0)         as excluded_amount,
        sum(amount) filter (where step_type = 'target_total')                   as target_amount,
        sum(abs(n_lines)) filter (where step_type = 'difference')               as difference_lines,
        sum(abs(amount)) filter (where step_type = 'difference')                as difference_amount
    from steps

)

select *
from totals
where source_lines is null
   or target_lines is null
   or source_lines - excluded_lines <> target_lines
   or round(source_amount - excluded_amount, 2) <> round(target_amount, 2)
   or difference_lines <> 0
   or difference_amount <> 0
