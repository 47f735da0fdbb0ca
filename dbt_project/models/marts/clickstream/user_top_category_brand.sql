-- One row per user with events: the category and the brand the user interacted with most
-- (all event types count; ties broken alphabetically; events without a brand do not count
-- for the brand, events without a category code count as category 'unknown').
with

-- the clickstream state (keyed_window.sql): one row per user and breakdown value ('brand'
-- rows count the events that have a brand; a row counting none is no brand of the user)
-- NOT MATERIALIZED: read three times, each needing other columns and rows; DuckDB would
-- otherwise copy the whole state first
user_rows as {{ cte_not_materialized() }} (

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

-- each user's most interactions per breakdown, then the first value (alphabetically) with
-- that many: a ranking by interactions desc, value asc, without sorting every row
most as (

    select
        user_id,
        breakdown,
        max(interactions) as interactions
    from user_rows
    where breakdown in ('category', 'brand') and interactions > 0
    group by user_id, breakdown

),

top_values as (

    select
        most.user_id,
        most.breakdown,
        most.interactions,
        min(user_rows.breakdown_value) as breakdown_value
    from most
    inner join user_rows
        on
            most.user_id = user_rows.user_id
            and most.breakdown = user_rows.breakdown
            and most.interactions = user_rows.interactions
    group by most.user_id, most.breakdown, most.interactions

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
left join top_values as by_category
    on users.user_id = by_category.user_id and by_category.breakdown = 'category'
left join top_values as by_brand
    on users.user_id = by_brand.user_id and by_brand.breakdown = 'brand'
