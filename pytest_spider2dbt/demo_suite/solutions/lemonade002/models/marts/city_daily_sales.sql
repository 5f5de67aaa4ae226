with city_sales as (
    select
        stands.city,
        daily.sale_date as day,
        sum(daily.cups_sold) as cups_sold,
        sum(daily.net_revenue) as net_revenue
    from {{ ref('daily_stand_revenue') }} as daily
    join {{ ref('stg_stands') }} as stands on stands.stand_id = daily.stand_id
    group by stands.city, daily.sale_date
)

select
    weather.city,
    weather.day,
    weather.high_temp_c,
    weather.rained,
    coalesce(city_sales.cups_sold, 0) as cups_sold,
    coalesce(city_sales.net_revenue, 0) as net_revenue
from {{ ref('stg_weather') }} as weather
left join city_sales on city_sales.city = weather.city and city_sales.day = weather.day
