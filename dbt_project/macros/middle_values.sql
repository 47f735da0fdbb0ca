{#-
    The middle of each group's values, from counts of each value: a SELECT of the `groups`
    columns, lower_value and upper_value (the values at 0-based positions (n - 1) div 2 and
    n div 2 of the group's sorted values: the same one when n is odd) and n_values (n).
    `counts` is a relation or CTE with the `groups` columns, `value` and `count` (how many
    times the value occurs). A median from these is exact on every engine, and never holds
    every value (median() over 157M event prices spilled tens of GB at scale 50).
-#}
{% macro middle_values(counts, groups, value, count) -%}
    {%- set group_columns = groups | join(', ') -%}
    select
        {{ group_columns }},
        min({{ value }}) as lower_value,
        max({{ value }}) as upper_value,
        any_value(n_values) as n_values
    from (
        select
            {{ group_columns }},
            {{ value }},
            {{ count }} as n_at_value,
            sum({{ count }}) over (
                partition by {{ group_columns }} order by {{ value }}
                rows between unbounded preceding and current row
            ) as n_through,
            sum({{ count }}) over (partition by {{ group_columns }}) as n_values
        from {{ counts }}
    ) as ranked
    where
        (n_through - n_at_value <= {{ int_div('n_values - 1', '2') }} and {{ int_div('n_values - 1', '2') }} < n_through)
        or (n_through - n_at_value <= {{ int_div('n_values', '2') }} and {{ int_div('n_values', '2') }} < n_through)
    group by {{ group_columns }}
{%- endmacro %}
