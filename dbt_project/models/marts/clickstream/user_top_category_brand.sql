-- One row per user with events: the category and the brand the user interacted with most
-- (all event types count; ties broken alphabetically; events without a brand do not count
-- for the brand, events without a category code count as category 'unknown').
with

-- interactions once per (user, category, brand): the clickstream state (keyed_window.sql);
-- the rankings and user totals below add these up instead of grouping every event
user_category_brand as (

    select
        user_id,
        category,
        brand,
        interactions
    from {{ ref('int_events__user_category_brand') }}

),

customers as (

    select
        customer_id,
        customer_key
    from {{ ref('dim_customers') }}
    where customer_id is not null

),

by_category as (

    select
        user_id,
        category,
        cast(sum(interactions) as bigint) as interactions,
        row_number() over (partition by user_id order by sum(interactions) desc, category asc) as rank_in_user
    from user_category_brand
    group by user_id, category

),

by_brand as (

    select
        user_id,
        brand,
        cast(sum(interactions) as bigint) as interactions,
        row_number() over (partition by user_id order by sum(interactions) desc, brand asc) as rank_in_user
    from user_category_brand
    where brand is not null
    group by user_id, brand

),

users as (

    select
        user_id,
        cast(sum(interactions) as bigint) as interactions,
        count(distinct category) as n_categories,
        count(distinct brand) as n_brands
    from user_category_brand
    group by user_id

)

select
    users.user_id,
    -- as fct_events resolves it: the user's dim_customers key, else -1
    coalesce(customers.customer_key, {{ unknown_key() }}) as customer_key,
    users.interactions,
    users.n_categories,
    users.n_brands,
    by_category.category as top_category,
    by_category.interactions as top_category_interactions,
    by_brand.brand as top_brand,
    by_brand.interactions as top_brand_interactions
from users
left join customers
    on users.user_id = customers.customer_id
left join by_category
    on users.user_id = by_category.user_id and by_category.rank_in_user = 1
left join by_brand
    on users.user_id = by_brand.user_id and by_brand.rank_in_user = 1
