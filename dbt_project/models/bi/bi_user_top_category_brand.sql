{{ config(alias='user_top_category_brand') }}
-- Each user's favourite category and brand (clickstream), with the customer id when the
-- user is a known customer. Pseudonymous ids; the warehouse's customer_key is left out.
select
    cast(favourites.user_id as bigint) as user_id,
    cast(customers.customer_id as bigint) as customer_id,
    cast(favourites.interactions as bigint) as interactions,
    cast(favourites.n_categories as integer) as n_categories,
    cast(favourites.n_brands as integer) as n_brands,
    cast(favourites.top_category as string) as top_category,
    cast(favourites.top_category_interactions as bigint) as top_category_interactions,
    cast(favourites.top_brand as string) as top_brand,
    cast(favourites.top_brand_interactions as bigint) as top_brand_interactions
from {{ ref('user_top_category_brand') }} as favourites
left join {{ ref('dim_customers') }} as customers
    on
        favourites.customer_key = customers.customer_key
        and not customers.is_unknown_member
