{#-
    Key-maintained incremental models: the clickstream state tables (per user, per session,
    per product's event prices) and fct_sessions, which read fct_events only, each user's
    top category and brand (int_events__user_tops), which reads the user state only, the
    per-product sales totals (int_products__sales_totals) and the invoices (fct_orders),
    which read fct_order_lines only, and the per-customer totals
    (int_customers__sales_totals) and the stock codes' line prices
    (int_products__line_prices), which read int_retail__order_lines only. Whenever their
    source, a daily fact, is rebuilt for a day window (a landing-sensor run:
    incremental_with_window(), day_window.sql) they recompute only the "touched" keys (a
    user, a session, an invoice, a product, a customer, a stock code), whatever the run's
    files (a catalogue file changes none of their sources):

      - the keys with an event in the window (new, extended, or corrected ones), and
      - the keys whose existing rows overlap the window (their first .. last event day): a
        key whose events in the window were removed or moved by a corrected file.

    A touched key is recomputed from all its rows in the source. For sessions and invoices,
    which are short, only the source's rows from the first day a touched key starts on are
    read (a session or an invoice crossing midnight keeps its rows of the day before), so
    the work follows the new data; for users and customers the whole history of the
    touched ones is read (a semi-join: those active on a new day are a small part of all),
    and for products every line or event of the touched products (those sold on a new day
    hold about half of all lines at scale 10). Four models whose measures add up, the user
    state, the products' event prices, the product totals and the stock codes' line prices,
    skip that read when the window only appends days (keyed_window_appends): they add the
    window's rows to their touched keys' rows instead.
    delete+insert on the key replaces the key's rows. A touched key left without any event
    has no new row: the post-hook delete_vanished_keys deletes its old ones.

    Without a window, an incremental build (a plain `dbt build` on existing tables) deletes
    every row first (pre-hook delete_all_unless_windowed) and recomputes every key. On Spark
    (parquet tables have no DELETE) these models are tables rebuilt in full every time.

    Arguments: `key` is the key column's name in the source, `model_key` in the model (the
    same unless given); `first_day` / `last_day` are expressions over the model's row giving
    its first and last day in the source; `source` and `day_column` name the source and its
    day column (fct_events and event_day unless given), or for a source whose rows span days
    its [first day, last day] columns (int_events__user_tops, over the user state).
-#}
{% macro keyed_incremental_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}

{% macro delete_all_unless_windowed() -%}
    {%- if execute and this is not none and is_incremental() and not incremental_with_window() -%}
        delete from {{ this }}
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{%- endmacro %}

{#- The rows of {{ this }} whose first .. last event day overlaps the window. -#}
{% macro rows_overlapping_window(first_day, last_day) -%}
    {%- set start, end = day_window_bounds() -%}
    {{ first_day }} < cast('{{ end }}' as date) and {{ last_day }} >= cast('{{ start }}' as date)
{%- endmacro %}

{#- The rows the keyed models are computed from: `source` and its day column, by default
    fct_events and event_day. -#}
{% macro keyed_source(source) -%}
    {{- return(source if source is not none else ref('fct_events')) -}}
{%- endmacro %}

{#- The source's rows a window touches: those of its days, or, for a source whose rows span
    days (a state table: `day_column` given as [first_day, last_day]), those overlapping it. -#}
{% macro source_rows_in_window(day_column) -%}
    {%- if day_column is string -%}
        {{ day_window_predicate(day_column) }}
    {%- else -%}
        {{ rows_overlapping_window(day_column[0], day_column[1]) }}
    {%- endif -%}
{%- endmacro %}

{#- The source's day column, or the last day of a source whose rows span days. -#}
{% macro source_day(day_column) -%}
    {{- day_column if day_column is string else day_column[1] -}}
{%- endmacro %}

{#- SELECT of the touched keys (column touched_key). -#}
{% macro touched_keys(key, first_day, last_day, model_key, source=none, day_column='event_day') -%}
    select {{ key }} as touched_key from {{ keyed_source(source) }} where {{ source_rows_in_window(day_column) }}
    union
    select {{ model_key }} from {{ this }} where {{ rows_overlapping_window(first_day, last_day) }}
{%- endmacro %}

{#- SELECT of the touched keys' events: all of them, or (from_first_day) those from the first
    day any touched key has an event on (the window's start, or an earlier first day). That
    day is queried when the model is compiled, just before it runs, and written as a literal
    date: the source's scan then skips the row groups of earlier days from their statistics
    (a subquery's value is not pushed into the scan, so it read every day). -#}
{% macro touched_key_events(key, first_day, last_day, from_first_day, model_key, source=none, day_column='event_day') -%}
    select events.*
    from {{ keyed_source(source) }} as events
    inner join ({{ touched_keys(key, first_day, last_day, model_key, source, day_column) }}) as touched
        on events.{{ key }} = touched.touched_key
    {%- if from_first_day %}
    where events.{{ source_day(day_column) }} >= cast('{{ touched_keys_first_day(key, first_day, last_day, model_key, source, day_column) }}' as date)
    {%- endif %}
{%- endmacro %}

{#- The first day of the touched keys' rows in {{ this }}, or the window's start if earlier
    (an ISO date); the window's start while dbt parses. -#}
{% macro touched_keys_first_day(key, first_day, last_day, model_key, source=none, day_column='event_day') -%}
    {%- set start = day_window_bounds()[0] -%}
    {%- if not execute -%}
        {{- return(start) -}}
    {%- endif -%}
    {%- set found = run_query(
        "select cast(least(cast('" ~ start ~ "' as date), coalesce(min(" ~ first_day ~ "), cast('" ~ start ~ "' as date))) as varchar)"
        ~ " from " ~ this ~ " as rows_of_touched inner join ("
        ~ touched_keys(key, first_day, last_day, model_key, source, day_column)
        ~ ") as touched on rows_of_touched." ~ model_key ~ " = touched.touched_key") -%}
    {{- return(found.rows[0][0]) -}}
{%- endmacro %}

{#- A windowed build that only appends days (DuckDB): every row of the table ends before the
    window's start, and the source has no row outside the window after the table's last day.
    The window's source rows are then all new to the table (a landing-sensor run for the next
    day), so a model whose measures add up (sums, counts of new members, min / max) may
    merge the window's rows into its touched keys' rows instead of re-reading their history.
    A late file for an earlier day, a corrected file or a table behind its source (a failed
    run) fails the test and takes the general path. Queried when dbt compiles the model. -#}
{% macro keyed_window_appends(last_day, source=none, day_column='event_day') -%}
    {%- if not (execute and target.type == 'duckdb' and incremental_with_window()) -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set start = "cast('" ~ day_window_bounds()[0] ~ "' as date)" -%}
    {%- set kept_until = "(select max(" ~ last_day ~ ") from " ~ this ~ ")" -%}
    {%- set found = run_query(
        "select coalesce(" ~ kept_until ~ " < " ~ start
        ~ " and (select max(" ~ day_column ~ ") from " ~ keyed_source(source)
        ~ " where not (" ~ day_window_predicate(day_column) ~ ")) <= " ~ kept_until ~ ", false)") -%}
    {{- return(found.rows[0][0]) -}}
{%- endmacro %}

{#- A keyed model's last-day column as its rows are read: NULL (a row from before
    ensure_state_column added the column) as no end. -#}
{% macro state_last_day(column) -%}
    coalesce({{ column }}, cast('9999-12-31' as date))
{%- endmacro %}

{#- Add a column a newer version of a keyed model keeps to a table an older one built
    (DuckDB; a first build creates it with every column, Spark rebuilds the table). Called
    from the model's body, so it runs when dbt compiles the model, just before running it:
    the touched keys' first day is queried then too, and reads the column. The old rows get
    NULL, which state_last_day reads as "overlapping every window", so the next windowed
    build recomputes them. -#}
{% macro ensure_state_column(column, data_type) -%}
    {%- if execute and this is not none and is_incremental() and target.type == 'duckdb' -%}
        {%- do run_query("alter table " ~ this ~ " add column if not exists " ~ column ~ " " ~ data_type) -%}
    {%- endif -%}
{%- endmacro %}

{#- The model's input: the source (fct_events), or in a windowed run the touched keys' rows. -#}
{% macro keyed_window_events(key, first_day, last_day, from_first_day=false, model_key=none, source=none, day_column='event_day') -%}
    {%- if incremental_with_window() -%}
        {{ touched_key_events(key, first_day, last_day, from_first_day, model_key or key, source, day_column) }}
    {%- else -%}
        select * from {{ keyed_source(source) }}
    {%- endif -%}
{%- endmacro %}

{#- The input of a model that may append (keyed_window_appends): the source's rows in the
    window when `appends`, else keyed_window_events. -#}
{% macro keyed_window_input(appends, key, first_day, last_day, source=none, day_column='event_day') -%}
    {%- if appends -%}
        select * from {{ keyed_source(source) }} where {{ day_window_predicate(day_column) }}
    {%- else -%}
        {{ keyed_window_events(key, first_day, last_day, source=source, day_column=day_column) }}
    {%- endif -%}
{%- endmacro %}

{#- ORDER BY the key when every key is built (a first build, a --full-refresh, a build
    without a window; DuckDB only): the table's rows then lie in key order, so each row
    group's statistics span a narrow range of keys, and a windowed build's probes by key
    (dbt's delete of the touched keys, the unique test's semi-join, the touched keys' first
    day) skip the row groups that hold none of them. A windowed build appends its keys at the
    end, a few row groups per day that are read in full. For a state with many rows per
    key and keys of no order of their own (the session state: 15M rows, random session
    ids), where those probes read every row. -#}
{% macro order_by_key_unless_windowed(key) -%}
    {%- if target.type == 'duckdb' and not incremental_with_window() -%}
        order by {{ key }}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: delete the rows of touched keys that have no event left. A row overlapping the
    window either was just recomputed or belongs to a key whose every event is gone (a key
    whose row overlaps the window is touched, so recomputed from all its events if it has
    any). A recomputed row ends on its key's last event day, on or after the window's start
    (it overlaps the window), so the probe asks for any event of the key from that day on: a
    literal bound the scan checks against the table's zone maps instead of reading every
    day. -#}
{% macro delete_vanished_keys(key, first_day, last_day, model_key=none, source=none, day_column='event_day') -%}
    {%- if incremental_with_window() -%}
        {%- set start = day_window_bounds()[0] -%}
        delete from {{ this }} as kept
        where {{ rows_overlapping_window(first_day, last_day) }}
          and not exists (
              select 1
              from {{ keyed_source(source) }} as events
              where events.{{ key }} = kept.{{ model_key or key }}
                and events.{{ source_day(day_column) }} >= cast('{{ start }}' as date)
          )
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: mark the table as rebuilt for the touched keys only in this dbt invocation
    (a row of dbt_state.keyed_window_marks, emptied when the invocation starts:
    reset_keyed_window_marks), which the unique tests on the key read (key_rows_predicate,
    new_rows.sql). A first build, a --full-refresh or a build without a window leaves no
    mark, so those tests read every row. A row of a table of its own, not the table's
    comment: a mart's comment is its description for BI tools (persist_docs). Appends only:
    two models' post-hooks may run at once. -#}
{% macro mark_keyed_window() -%}
    {%- if target.type == 'duckdb' and incremental_with_window() -%}
        insert into {{ keyed_window_marks() }} values ('{{ this.schema }}.{{ this.identifier }}', '{{ invocation_id }}')
    {%- else -%}
        select 1 as every_key_rebuilt
    {%- endif -%}
{%- endmacro %}

{% macro keyed_window_marks() -%}
    {{- return(api.Relation.create(database=target.database, schema='dbt_state', identifier='keyed_window_marks')) -}}
{%- endmacro %}

{#- on-run-start (DuckDB): an empty marks table for this invocation. -#}
{% macro reset_keyed_window_marks() -%}
    {%- if execute and target.type == 'duckdb' -%}
        {%- do run_query('create schema if not exists ' ~ keyed_window_marks().include(identifier=false)) -%}
        {%- do run_query('create or replace table ' ~ keyed_window_marks() ~ ' (table_name varchar, invocation_id varchar)') -%}
    {%- endif -%}
    {{- return('') -}}
{%- endmacro %}

{#- `relation` carries this invocation's mark (DuckDB). -#}
{% macro keyed_window_marked(relation) -%}
    {%- if not duckdb_table_exists(keyed_window_marks()) -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set found = run_query(
        "select count(*) from " ~ keyed_window_marks() ~ " where table_name = '" ~ relation.schema
        ~ "." ~ relation.identifier ~ "' and invocation_id = '" ~ invocation_id ~ "'") -%}
    {{- return(found.rows[0][0] > 0) -}}
{%- endmacro %}

{#- The furthest funnel stage an event reaches: 3 purchase, 2 cart, 1 view; NULL for the
    others (remove_from_cart counts for no stage). The max over a group is its stage. -#}
{% macro funnel_stage(event_type) -%}
    case {{ event_type }} when 'purchase' then 3 when 'cart' then 2 when 'view' then 1 end
{%- endmacro %}

{#- The clickstream breakdowns: a SELECT of their names (column breakdown), and the value an
    event's category and brand give in one ('all'; the category; the brand, 'unknown' when
    the event has none). Both state tables expand their rows with these, so the funnel's
    session and user counts share one set of values. -#}
{% macro clickstream_breakdowns() -%}
    select b.breakdown from (values ('overall'), ('category'), ('brand')) as b (breakdown)
{%- endmacro %}

{% macro breakdown_value(breakdown, category, brand) -%}
    case {{ breakdown }}
        when 'overall' then 'all' when 'category' then {{ category }} else coalesce({{ brand }}, 'unknown')
    end
{%- endmacro %}

{#- fct_sessions' first and last event day (its rows hold times, not days). -#}
{% macro session_first_day() -%} cast(started_at as date) {%- endmacro %}
{% macro session_last_day() -%} cast(ended_at as date) {%- endmacro %}
