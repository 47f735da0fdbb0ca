-- One row per customer with at least one non-cancelled invoice: RFM exactly as defined in
-- docs/rfm.md ("RFM, defined once"):
--   over lines with a customer id, after exact duplicate lines are dropped (fct_order_lines,
--   summed per customer in int_customers__sales_totals);
--   snapshot date = the day after the last invoice date, or var('rfm_snapshot_date');
--     with an earlier snapshot date, lines on or after it are ignored (RFM "as of" that day);
--   recency_days = snapshot date - date of the last non-cancelled invoice;
--   frequency    = distinct non-cancelled invoices (invoice not starting with 'C');
--   monetary     = sum of quantity x price over all the customer's lines, cancellations
--                  included as negatives;
--   customers with no non-cancelled invoice get no row;
--   scores by ntile(5): R over (recency_days desc, customer_id asc) so 5 = most recent,
--   F over (frequency asc, customer_id asc), M over (monetary asc, customer_id asc);
--   rfm_code = R, F and M as three digits; segment from the seed rfm_segment_map.
-- depends_on: {{ ref('fct_order_lines') }}
{#- (read only with rfm_snapshot_date: a dependency whatever the vars at parse time, so a
    build, and the unit test that sets it, always find the table) #}
{%- set snapshot_date = var('rfm_snapshot_date', none) %}
with

{% if snapshot_date -%}
    -- "as of" an earlier day: from the lines before it
    customer_lines as (

        select
            customer_id,
            invoice,
            invoice_day,
            is_cancellation,
            net_amount
        from {{ ref('fct_order_lines') }}
        where customer_id is not null and invoice_day < cast('{{ snapshot_date }}' as date)

    ),

    per_customer as (

        select
            customer_id,
            cast('{{ snapshot_date }}' as date) as snapshot_date,
            max(invoice_day) filter (where not is_cancellation) as last_purchase_day,
            count(distinct invoice) filter (where not is_cancellation) as frequency,
            sum(net_amount) as monetary
        from customer_lines
        group by customer_id

    ),
{%- else %}
    -- the same figures over all lines, from the per-customer state (kept by customer, so a
    -- new day re-reads only its customers' lines)
    totals as (

        select * from {{ ref('int_customers__sales_totals') }}

    ),

    latest as (

        select cast(max(last_day) + 1 as date) as snapshot_date
        from totals

    ),

    per_customer as (

        select
            totals.customer_id,
            snapshot.snapshot_date,
            cast(totals.last_order_at as date) as last_purchase_day,
            totals.n_orders as frequency,
            totals.net_amount as monetary
        from totals
        cross join latest as snapshot

    ),
{%- endif %}

measured as (

    select
        customer_id,
        cast({{ dbt.datediff('last_purchase_day', 'snapshot_date', 'day') }} as integer) as recency_days,
        cast(frequency as integer) as frequency,
        cast(monetary as decimal(18, 3)) as monetary
    from per_customer
    where frequency > 0

),

scored as (

    select
        *,
        cast(ntile(5) over (order by recency_days desc, customer_id asc) as integer) as r_score,
        cast(ntile(5) over (order by frequency asc, customer_id asc) as integer) as f_score,
        cast(ntile(5) over (order by monetary asc, customer_id asc) as integer) as m_score
    from measured

),

segment_map as (

    select
        rfm_code,
        segment
    from {{ ref('rfm_segment_map') }}

)

select
    scored.customer_id,
    scored.recency_days,
    scored.frequency,
    scored.monetary,
    scored.r_score,
    scored.f_score,
    scored.m_score,
    cast(scored.r_score as string) || cast(scored.f_score as string) || cast(scored.m_score as string)
        as rfm_code,
    segment_map.segment
from scored
left join segment_map
    on
        cast(scored.r_score as string) || cast(scored.f_score as string) || cast(scored.m_score as string)
        = segment_map.rfm_code
