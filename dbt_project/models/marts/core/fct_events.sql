{#-
    Incremental by day like fct_order_lines (day window, pre-hook delete, delete+insert on
    event_day). Derived sessions (events without a user_session) are numbered over each
    user's whole history (macros/sessions.sql: the window's events plus the user's derived-
    session events of the other days, already in this table), so a day built alone gets the
    same session_id as a full build. The dimension keys of older days are re-resolved by the
    post-hooks (a customer or catalogue product that appears later), see day_window.sql.
    A window's build tests only its rows (meta tests_day_column, see macros/new_rows.sql),
    and its two keys' relationships tests its rows' keys and the kept ones (tests_kept_keys,
    macros/generic_tests/relationships.sql).
-#}
-- depends_on: {{ ref('stg_shop__events') }}
{{ config(
    materialized='incremental',
    incremental_strategy=day_incremental_strategy(),
    partition_by=day_partition_by('event_day'),
    unique_key='event_day',
    on_schema_change='fail',
    meta={'tests_day_column': 'event_day', 'tests_kept_keys': ['customer_key', 'product_key']},
    tags=['partitioned_daily'],
    pre_hook="{{ delete_day_window('event_day') }}",
    post_hook=["{{ repair_event_customer_keys() }}", "{{ repair_event_product_keys() }}"],
) }}

with

-- the window's events with their sessions: over the table built earlier, the window's own
-- events and the derived-session history of their users (macros/sessions.sql); on a first
-- build, a full one or Spark (which cannot read the table it overwrites), the view
events as (

    {% if target.type != 'spark' and incremental_with_window() -%}
        {{ sessionised_window_events() }}
    {%- else -%}
        select * from {{ ref('int_events__sessionised') }}
        where {{ day_window_filter('event_day') }}
    {%- endif %}

),

customers as (

    select
        customer_id,
        customer_key
    from {{ ref('dim_customers') }}
    where customer_id is not null

),

-- one product per catalogue product_id (the first stock code if several share an id)
products as (

    select
        product_id,
        min(product_key) as product_key
    from {{ ref('dim_products') }}
    where product_id is not null
    group by product_id

)

select
    {{ stable_key("events._file_sha256 || ':' || cast(events._row_number as string)") }} as event_key,
    events.event_time,
    events.event_day,
    {{ date_key('events.event_day') }} as date_key,
    events.event_type,
    events.user_id,
    coalesce(customers.customer_key, {{ unknown_key() }}) as customer_key,
    events.product_id,
    coalesce(products.product_key, {{ unknown_key() }}) as product_key,
    events.category_id,
    events.category_code,
    coalesce(events.category_code, 'unknown') as category,
    events.brand,
    events.price,
    events.user_session,
    events.session_id,
    events.is_derived_session,
    events._source_file,
    events._file_sha256,
    events._row_number
from events
left join customers
    on events.user_id = customers.customer_id
left join products
    on events.product_id = products.product_id
