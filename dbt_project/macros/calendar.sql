{#-
    easter_sunday(year): the date of Western (Gregorian) Easter Sunday for an integer year
    expression, by the anonymous Gregorian computus (Meeus/Jones/Butcher). Pure integer
    arithmetic (`//` is integer division in DuckDB).
-#}
{% macro easter_sunday(year) -%}
    {%- set y = "(" ~ year ~ ")" -%}
    {%- set a = "(" ~ y ~ " % 19)" -%}
    {%- set b = int_div(y, "100") -%}
    {%- set c = "(" ~ y ~ " % 100)" -%}
    {%- set d = int_div(b, "4") -%}
    {%- set e = "(" ~ b ~ " % 4)" -%}
    {%- set f = int_div("(" ~ b ~ " + 8)", "25") -%}
    {%- set g = int_div("(" ~ b ~ " - " ~ f ~ " + 1)", "3") -%}
    {%- set h = "((19 * " ~ a ~ " + " ~ b ~ " - " ~ d ~ " - " ~ g ~ " + 15) % 30)" -%}
    {%- set i = int_div(c, "4") -%}
    {%- set k = "(" ~ c ~ " % 4)" -%}
    {%- set l = "((32 + 2 * " ~ e ~ " + 2 * " ~ i ~ " - " ~ h ~ " - " ~ k ~ ") % 7)" -%}
    {%- set m = int_div("(" ~ a ~ " + 11 * " ~ h ~ " + 22 * " ~ l ~ ")", "451") -%}
    {%- set n = "(" ~ h ~ " + " ~ l ~ " - 7 * " ~ m ~ " + 114)" -%}
    make_date(cast({{ y }} as integer), cast({{ int_div(n, "31") }} as integer), cast({{ n }} % 31 + 1 as integer))
{%- endmacro %}

{#- The first given ISO weekday (1 = Monday … 7 = Sunday) on or after a date. -#}
{% macro first_weekday_on_or_after(date_expr, isodow) -%}
    (cast({{ date_expr }} as date) + cast((({{ isodow }} - {{ iso_day_of_week('cast(' ~ date_expr ~ ' as date)') }} + 7) % 7) as integer))
{%- endmacro %}

{#- The last given ISO weekday on or before a date. -#}
{% macro last_weekday_on_or_before(date_expr, isodow) -%}
    (cast({{ date_expr }} as date) - cast((({{ iso_day_of_week('cast(' ~ date_expr ~ ' as date)') }} - {{ isodow }} + 7) % 7) as integer))
{%- endmacro %}
