with sales_by_stand as (
    select
        stand_id,
        min(sold_at) as first_sale_at,
        max(sold_at) as last_sale_at
    from {{ ref('stg_sales') }}
    group by stand_id
),

days_by_stand as (
    select
        stand_id,
        count(*) as days_active,
        sum(cups_sold) as total_cups,
        sum(net_revenue) as net_revenue
    from {{ ref('daily_stand_revenue') }}
    group by stand_id
)

select
    stands.stand_id,
    stands.stand_name,
    stands.city,
    stands.opened_on,
    sales_by_stand.first_sale_at,
    sales_by_stand.last_sale_at,
    coalesce(days_by_stand.days_active, 0) as days_active,
    coalesce(days_by_stand.total_cups, 0) as total_cups,
    coalesce(days_by_stand.net_revenue, 0) as net_revenue,
    round(days_by_stand.net_revenue / days_by_stand.days_active, 2) as revenue_per_active_day
from {{ ref('stg_stands') }} as stands
left join sales_by_stand on sales_by_stand.stand_id = stands.stand_id
left join days_by_stand on days_by_stand.stand_id = stands.stand_id
