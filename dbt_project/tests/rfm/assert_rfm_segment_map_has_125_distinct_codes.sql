{{ config(meta={'dagster': {'ref': {'name': 'rfm_segment_map'}}}) }}
-- The seed maps every RFM code 111..555 exactly once: 125 rows, 125 distinct codes, all
-- valid, and the textbook anchors map to the expected segments.
with

map as (

    select * from {{ ref('rfm_segment_map') }}

),

expected_codes as (

    select cast(r as string) || cast(f as string) || cast(m as string) as rfm_code
    from (select {{ int_series('1', '5') }} as r) as rs
    cross join (select {{ int_series('1', '5') }} as f) as fs
    cross join (select {{ int_series('1', '5') }} as m) as ms

),

problems as (

    select 'row count ' || count(*) || ' / distinct codes ' || count(distinct rfm_code) as problem
    from map
    having count(*) <> 125 or count(distinct rfm_code) <> 125

    union all
    select 'missing code ' || e.rfm_code
    from expected_codes as e
    left join map on e.rfm_code = map.rfm_code
    where map.rfm_code is null

    union all
    select 'unexpected code ' || map.rfm_code
    from map
    left join expected_codes as e on e.rfm_code = map.rfm_code
    where e.rfm_code is null

    union all
    select 'code ' || anchors.rfm_code || ' should be ' || anchors.segment
    from (
        values ('555', 'Champions'), ('111', 'Lost'), ('155', 'Can''t Lose Them'),
               ('511', 'New Customers'), ('344', 'Loyal'), ('255', 'At Risk')
    ) as anchors(rfm_code, segment)
    left join map on anchors.rfm_code = map.rfm_code
    where map.segment is distinct from anchors.segment

)

select * from problems
