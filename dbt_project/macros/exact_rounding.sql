{#-
    Rounding that gives the same figure on every engine. round() of a DOUBLE does not: DuckDB
    rounds the binary value (560.425 is stored as 560.42499.. and becomes 560.42), Spark rounds
    its decimal rendering (560.43). These macros divide in integers and round half away from
    zero, exactly, as round() of a DECIMAL does on both engines.
-#}

{#- n / d rounded half away from zero, for integer n and positive integer d (NULL if d is NULL) -#}
{% macro int_div_round(n, d) -%}
    ((case when ({{ n }}) < 0 then -1 else 1 end) * {{ int_div('2 * abs(' ~ n ~ ') + (' ~ d ~ ')', '2 * (' ~ d ~ ')') }})
{%- endmacro %}

{#- amount / count to the cent, as DECIMAL(18, 2) (amount has at most 3 decimals) -#}
{% macro cents_ratio(amount, count) -%}
    cast({{ int_div_round('cast((' ~ amount ~ ') * 1000 as bigint)', '10 * (' ~ count ~ ')') }} * 0.01 as decimal(18, 2))
{%- endmacro %}

{#- part / whole as a DOUBLE rounded to 4 decimals (part and whole integers; NULL when whole is 0) -#}
{% macro rate_4dp(part, whole) -%}
    (cast({{ int_div_round('(' ~ part ~ ') * 10000', 'nullif(' ~ whole ~ ', 0)') }} as double) / 10000)
{%- endmacro %}
