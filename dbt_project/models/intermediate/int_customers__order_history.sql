-- One row per customer id seen on any invoice line (after duplicates are dropped):
-- first/last purchase, order counts and the customer's most frequent country.
-- A table, not a view: its tests and the model that reads it would each re-run it over all history.
{{ config(materialized='table') }}

with

lines as (

    select * from {{ ref('int_retail__order_lines') }}
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
        cast(sum(net_amount) as decimal(18, 3)) as net_amount
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
    history.net_amount
from history
left join country_ranked
    on
        history.customer_id = country_ranked.customer_id
        and country_ranked.country_rank = 1
