select
    sales.stand_id,
    stands.stand_name,
    sales.sale_date,
    count(*) as orders,
    sum(sales.cups) as cups_sold,
    sum(sales.gross_amount) as gross_revenue,
    sum(sales.discount_amount) as discounts,
    sum(sales.net_amount) as net_revenue
from {{ ref('stg_sales') }} as sales
join {{ ref('stg_stands') }} as stands on stands.stand_id = sales.stand_id
group by sales.stand_id, stands.stand_name, sales.sale_date
