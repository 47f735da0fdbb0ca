-- Invoice lines: rename, cast, trim and FLAG only. No row is filtered out here; the
-- intermediate layer drops exact duplicates and every mart decides what it counts.
{{ config(tags=['new_rows_tests']) }}  {#- a landing-sensor run tests only its new rows: macros/new_rows.sql #}
{#-
    Every CTE below is NOT MATERIALIZED: `renamed` has several consumers, and DuckDB would
    otherwise copy the whole raw table into a materialised CTE first (the slowest step of
    every model and test reading this view); re-scanning raw is much cheaper.
-#}
with

source as {{ cte_not_materialized() }} (

    select * from {{ source('raw', 'transactions') }}

),

non_merchandise_codes as (

    select
        upper(code) as code,
        match_type,
        reason
    from {{ ref('non_merchandise_codes') }}

),

renamed as {{ cte_not_materialized() }} (

    select
        -- business columns
        trim(invoice) as invoice,
        trim(stock_code) as stock_code,
        nullif(trim(description), '') as description,
        cast(quantity as integer) as quantity,
        cast(invoice_date as timestamp) as invoice_date,
        cast(price as decimal(18, 3)) as unit_price,
        cast(customer_id as bigint) as customer_id,
        nullif(trim(country), '') as country,

        -- lineage
        _source_file,
        _source_sheet,
        _file_sha256,
        _row_number,
        _ingested_at,
        _run_id

    from source

),

-- classify each distinct stock code once against the seed (exact codes and prefixes,
-- case-insensitive), then join back on equality
stock_code_flags as (

    select
        codes.stock_code,
        min(nm.reason) as non_merchandise_reason
    from (select distinct stock_code from renamed) as codes
    inner join non_merchandise_codes as nm
        on
            (nm.match_type = 'exact' and upper(codes.stock_code) = nm.code)
            or (nm.match_type = 'prefix' and {{ starts_with('upper(codes.stock_code)', 'nm.code') }})
    group by codes.stock_code

),

-- Exact duplicates (the business columns: macros/duplicate_lines.sql): only a line whose
-- business columns hash like another line's can be a duplicate, so the duplicate window
-- runs over those candidate lines alone (~1.5% of the rows) instead of sorting every line
-- by eight columns. A hash collision only adds
-- candidates; the window still partitions on the columns themselves, and every line of a
-- duplicate group is a candidate (equal columns, equal hash), so the flag is exactly
-- row_number() over the business columns > 1 on the whole table.
hashed as {{ cte_not_materialized() }} (

    select
        _file_sha256,
        _row_number,
        {{ line_business_columns() | join(', ') }},
        {{ hash64(line_business_columns() | join(', ')) }} as line_hash
    from renamed

),

repeated_hashes as (

    select line_hash
    from hashed
    group by line_hash
    having count(*) > 1

),

-- the 2nd+ occurrence of a line identical on every business column; the first
-- occurrence (by file sha256, then row number) is the one kept
duplicates as (

    select distinct
        _file_sha256,
        _row_number
    from hashed
    where line_hash in (select line_hash from repeated_hashes)
    qualify row_number() over (
        partition by {{ line_business_columns() | join(', ') }}
        order by _file_sha256, _row_number
    ) > 1

),

flagged as (

    select
        renamed.invoice,
        renamed.stock_code,
        renamed.description,
        renamed.quantity,
        renamed.invoice_date,
        cast(renamed.invoice_date as date) as invoice_day,
        renamed.unit_price,
        -- exact: INTEGER x DECIMAL(18,3) stays DECIMAL(18,3)
        cast(renamed.quantity * renamed.unit_price as decimal(18, 3)) as line_amount,
        renamed.customer_id,
        renamed.country,

        {{ starts_with('upper(renamed.invoice)', "'C'") }} as is_cancellation,
        stock_code_flags.non_merchandise_reason is null as is_merchandise,
        stock_code_flags.non_merchandise_reason,
        duplicates._row_number is not null as is_duplicate,

        renamed._source_file,
        renamed._source_sheet,
        renamed._file_sha256,
        renamed._row_number,
        renamed._ingested_at,
        renamed._run_id

    from renamed
    left join stock_code_flags
        on renamed.stock_code = stock_code_flags.stock_code
    -- at most one match per line (`duplicates` is distinct on the lineage key, which
    -- ingestion always sets), so no line is repeated or lost; and because it is a left
    -- join on a distinct key, DuckDB drops it, with the whole duplicate search, from any
    -- query that does not read is_duplicate (the column tests, the calendar range)
    left join duplicates
        on
            renamed._file_sha256 = duplicates._file_sha256
            and renamed._row_number = duplicates._row_number

)

select * from flagged
