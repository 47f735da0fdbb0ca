-- Countries seen on invoice lines or customer profiles, enriched from the country_regions
-- seed, plus the "unknown" member (country_key = -1) for lines without a country.
with

countries as (

    select distinct country as country_name
    from {{ ref('int_retail__order_lines') }}
    where country is not null
    union
    select distinct country
    from {{ ref('int_customers__profiles') }}
    where country is not null

),

regions as (

    select * from {{ ref('country_regions') }}

),

known as (

    select
        {{ stable_key('countries.country_name') }} as country_key,
        countries.country_name,
        regions.iso_alpha2,
        coalesce(regions.region, 'Unknown') as region,
        false as is_unknown_member
    from countries
    left join regions
        on countries.country_name = regions.country_name

),

unknown_member as (

    select
        {{ unknown_key() }} as country_key,
        'Unknown' as country_name,
        cast(null as string) as iso_alpha2,
        'Unknown' as region,
        true as is_unknown_member

)

select * from known
union all
select * from unknown_member
