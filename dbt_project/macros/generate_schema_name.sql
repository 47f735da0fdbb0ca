{#-
    Models land in exactly the schema configured for their folder (staging, intermediate,
    marts, bi; seeds in `seeds`), not in "<target schema>_<custom schema>" as dbt does by
    default. Each environment has its own DuckDB file, so the schemas never collide.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
