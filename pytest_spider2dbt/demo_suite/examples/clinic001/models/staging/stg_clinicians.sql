select
    clinician_id,
    clinician_name,
    specialty
from {{ source('clinic', 'clinicians') }}
