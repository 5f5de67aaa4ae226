select
    day,
    city,
    high_temp_c,
    rained
from {{ source('lemonade', 'weather') }}
