select
    sale_id,
    stand_id,
    sold_at,
    cast(sold_at as date) as sale_date,
    cups,
    unit_price,
    coupon_code,
    cups * unit_price as gross_amount,
    coalesce(discount, 0) as discount_amount,
    cups * unit_price - coalesce(discount, 0) as net_amount
from {{ source('lemonade', 'sales') }}
