select
    visit_id,
    patient_id,
    clinician_id,
    checked_in_at,
    checked_out_at,
    visit_type,
    fee,
    coalesce(paid, 0) as paid_amount,
    fee - coalesce(paid, 0) as outstanding_amount,
    checked_out_at is null as is_no_show,
    date_diff('minute', checked_in_at, checked_out_at) as duration_minutes
from {{ source('clinic', 'visits') }}
