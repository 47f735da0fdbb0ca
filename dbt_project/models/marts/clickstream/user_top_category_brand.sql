-- One row per user with events: the category and the brand the user interacted with most
-- (all event types count; ties broken alphabetically; events without a brand do not count
-- for the brand, events without a category code count as category 'unknown').
with

-- the clickstream state (keyed_window.sql): one row per user and breakdown value ('brand'
-- rows count the events that have a brand; a row counting none is no brand of the user)
user_rows as (

    select
        user_id,
        breakdown,
        breakdown_value,
        interactions
    from {{ ref('int_events__user_breakdowns') }}

),

customers as (

    select
        customer_id,
        customer_key
    from {{ ref('dim_customers') }}
    where customer_id is not null

),

ranked as (

    select
        user_id,
        breakdown,
        breakdown_value,
        interactions,
        row_number() over (
            partition by user_id, breakdown order by interactions desc, breakdown_value asc
        ) as rank_in_user
    from user_rows
    where breakdown in ('category', 'brand') and interactions > 0

),

users as (

    select
        user_id,
        max(interactions) filter (where breakdown = 'overall') as interactions,
        count(*) filter (where breakdown = 'category') as n_categories,
        count(*) filter (where breakdown = 'brand' and interactions > 0) as n_brands
    from user_rows
    group by user_id

)

select
    users.user_id,
    -- as fct_events resolves it: the user's dim_customers key, else -1
    coalesce(customers.customer_key, {{ unknown_key() }}) as customer_key,
    users.interactions,
    users.n_categories,
    users.n_brands,
    by_category.breakdown_value as top_category,
    by_category.interactions as top_category_interactions,
    by_brand.breakdown_value as top_brand,
    by_brand.interactions as top_brand_interactions
from users
left join customers
    on users.user_id = customers.customer_id
left join ranked as by_category
    on users.user_id = by_category.user_id and by_category.breakdown = 'category' and by_category.rank_in_user = 1
left join ranked as by_brand
    on users.user_id = by_brand.user_id and by_brand.breakdown = 'brand' and by_brand.rank_in_user = 1
