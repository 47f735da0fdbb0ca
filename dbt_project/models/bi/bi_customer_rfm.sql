{{ config(alias='customer_rfm') }}
-- RFM scores and segments per customer. Pseudonymous customer id only: no name, e-mail
-- or birth date.
select
    cast(rfm.customer_id as bigint) as customer_id,
    cast(customers.country as string) as country,
    cast(customers.cohort_month as date) as first_order_month,
    cast(rfm.recency_days as integer) as recency_days,
    cast(rfm.frequency as integer) as order_count,
    cast(round(rfm.monetary, 2) as decimal(18, 2)) as net_revenue,
    cast(rfm.r_score as integer) as r_score,
    cast(rfm.f_score as integer) as f_score,
    cast(rfm.m_score as integer) as m_score,
    cast(rfm.rfm_code as string) as rfm_code,
    cast(rfm.segment as string) as segment
from {{ ref('customer_rfm') }} as rfm
left join {{ ref('dim_customers') }} as customers
    on rfm.customer_id = customers.customer_id
