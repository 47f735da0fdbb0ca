-- One row per customer id seen on invoice lines or in the customer profiles, plus the
-- "unknown customer" member (customer_key = -1) that anonymous lines point to.
-- No names or e-mail addresses: those stay in staging.
with

history as (

    select * from {{ ref('int_customers__sales_totals') }}

),

profiles as (

    select * from {{ ref('int_customers__profiles') }}

),

customer_ids as (

    select customer_id from history
    union
    select customer_id from profiles

),

known as (

    select
        {{ stable_key('customer_ids.customer_id') }} as customer_key,
        customer_ids.customer_id,
        coalesce(history.country, profiles.country) as country,
        coalesce(
            {{ stable_key('coalesce(history.country, profiles.country)') }},
            {{ unknown_key() }}
        ) as country_key,
        history.first_seen_at,
        history.first_order_at,
        history.last_order_at,
        cast(date_trunc('month', history.first_order_at) as date) as cohort_month,
        coalesce(history.n_orders, 0) as n_orders,
        coalesce(history.n_cancellations, 0) as n_cancellations,
        profiles.birth_date,
        profiles.birth_year,
        profiles.income,
        profiles.household_size,
        profiles.signup_date,
        profiles.channel,
        profiles.customer_id is not null as has_profile,
        history.customer_id is not null as has_transactions,
        false as is_unknown_member
    from customer_ids
    left join history
        on customer_ids.customer_id = history.customer_id
    left join profiles
        on customer_ids.customer_id = profiles.customer_id

),

unknown_member as (

    select
        {{ unknown_key() }} as customer_key,
        cast(null as bigint) as customer_id,
        cast(null as string) as country,
        {{ unknown_key() }} as country_key,
        cast(null as timestamp) as first_seen_at,
        cast(null as timestamp) as first_order_at,
        cast(null as timestamp) as last_order_at,
        cast(null as date) as cohort_month,
        cast(0 as bigint) as n_orders,
        cast(0 as bigint) as n_cancellations,
        cast(null as date) as birth_date,
        cast(null as integer) as birth_year,
        cast(null as decimal(18, 2)) as income,
        cast(null as integer) as household_size,
        cast(null as date) as signup_date,
        cast(null as string) as channel,
        false as has_profile,
        false as has_transactions,
        true as is_unknown_member

)

select * from known
union all
select * from unknown_member
