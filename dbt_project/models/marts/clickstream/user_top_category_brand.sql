-- One row per user with events: the category and the brand the user interacted with most
-- (all event types count; ties broken alphabetically; events without a brand do not count
-- for the brand, events without a category code count as category 'unknown'). The ranking
-- is int_events__user_tops, kept by user; this adds the user's customer key, which moves
-- without any event of the user (a first purchase, a customers file), so it is joined here
-- over every user.
with

customers as (

    select
        customer_id,
        customer_key
    from {{ ref('dim_customers') }}
    where customer_id is not null

)

select
    tops.user_id,
    -- as fct_events resolves it: the user's dim_customers key, else -1
    coalesce(customers.customer_key, {{ unknown_key() }}) as customer_key,
    tops.interactions,
    tops.n_categories,
    tops.n_brands,
    tops.top_category,
    tops.top_category_interactions,
    tops.top_brand,
    tops.top_brand_interactions
from {{ ref('int_events__user_tops') }} as tops
left join customers
    on tops.user_id = customers.customer_id
