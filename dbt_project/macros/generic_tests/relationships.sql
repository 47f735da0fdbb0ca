{#-
    dbt's relationships test on DuckDB: the child's distinct keys are looked up in the parent
    first, and the child is read again only for the keys the parent lacks (none, when the
    test passes). It returns what dbt's own does, one row per child row whose key the parent
    lacks, so its failure count is the same; dbt's joins every child row to the parent, which
    at scale 10 is 31.7M events for each of fct_events' keys. Other adapters keep dbt's.

    The child's keys are those of every row, except for a column its model keeps in
    dbt_state (meta `tests_kept_keys`: fct_events' customer_key and product_key, kept by
    repair_event_keys, day_window.sql) in a build with a day window: then the window's rows'
    keys and the kept keys. The kept keys are the key each id's rows carry, which the
    model's post-hook compared with the dimensions just rebuilt and repaired with its rows
    (in the model's transaction), so they stand for every row outside the window: a key of
    old rows that the dimension lost would be among them. That reads a few hundred thousand
    kept keys instead of 31.7M events' keys (scale 10). Without a window, every row's key
    is read.
-#}
{% macro duckdb__test_relationships(model, column_name, to, field) -%}

with

orphan_keys as (

    select child_keys.from_field
    from ({{ relationships_child_keys(model, column_name) }}) as child_keys
    left join (select {{ field }} as to_field from {{ to }}) as parent
        on child_keys.from_field = parent.to_field
    where parent.to_field is null

)

select {{ column_name }} as from_field
from {{ model }}
where {{ column_name }} in (select orphan_keys.from_field from orphan_keys)

{%- endmacro %}

{#- SELECT of the child's keys to look up (column from_field), as above. -#}
{% macro relationships_child_keys(model, column_name) -%}
    {%- set scope = relationships_kept_keys(model, column_name) -%}
    {%- if scope is not none %}
        select {{ column_name }} as from_field
        from {{ model }}
        where {{ day_window_predicate(scope.day_column) }} and {{ column_name }} is not null
        union
        select kept_key from {{ scope.kept }}
    {%- else %}
        select distinct {{ column_name }} as from_field
        from {{ model }}
        where {{ column_name }} is not null
    {%- endif %}
{%- endmacro %}

{#- When a day window scopes the test to the kept keys: the dbt_state table keeping
    `column_name` of the model `model` reads, and the model's day column; else none. -#}
{% macro relationships_kept_keys(model, column_name) -%}
    {%- if not execute or model.identifier is not defined or not day_window_given() -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set node = model_of_relation(model) -%}
    {%- set meta = node.config.meta if node is not none else {} -%}
    {%- if not meta.get('tests_day_column') or column_name not in (meta.get('tests_kept_keys') or []) -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set kept = kept_keys_relation(model, column_name) -%}
    {{- return({'kept': kept, 'day_column': meta.tests_day_column} if duckdb_table_exists(kept) else none) -}}
{%- endmacro %}
