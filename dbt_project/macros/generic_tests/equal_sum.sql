{#-
    Fails when sum(column) over this model differs from sum(compare_column) over
    compare_model by more than `tolerance` (default 0: exact, e.g. to the cent for DECIMAL).
    Optional `where_clause` / `compare_where` restrict either side.
-#}
{#- window_column / compare_window_column: restrict both sides to the day window a
    build passes (day_window_predicate; `true` without a window). -#}
{% test equal_sum(model, column_name, compare_model, compare_column, where_clause=none, compare_where=none, tolerance=0, window_column=none, compare_window_column=none) %}
with a as (
    select coalesce(sum({{ column_name }}), 0) as total
    from {{ model }}
    where {{ where_clause or 'true' }}
    {% if window_column %}and {{ day_window_predicate(window_column) }}{% endif %}
),
b as (
    select coalesce(sum({{ compare_column }}), 0) as total
    from {{ compare_model }}
    where {{ compare_where or 'true' }}
    {% if compare_window_column %}and {{ day_window_predicate(compare_window_column) }}{% endif %}
)
select a.total as model_total, b.total as compare_total, a.total - b.total as difference
from a cross join b
where abs(a.total - b.total) > {{ tolerance }}
{% endtest %}
