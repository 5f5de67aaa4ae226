select
    stand_id,
    trim(stand_name) as stand_name,
    city,
    opened_on
from {{ source('lemonade', 'stands') }}
