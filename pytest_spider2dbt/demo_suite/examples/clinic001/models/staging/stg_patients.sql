select
    patient_id,
    full_name,
    birth_date,
    sex,
    registered_at
from {{ source('clinic', 'patients') }}
