with visits_by_patient as (
    select
        patient_id,
        min(checked_in_at) as first_visit_at,
        max(checked_in_at) as last_visit_at,
        count(*) as visits,
        count(*) filter (where is_no_show) as no_shows,
        sum(paid_amount) as total_paid,
        sum(outstanding_amount) as outstanding_balance
    from {{ ref('stg_visits') }}
    group by patient_id
)

select
    patients.patient_id,
    patients.full_name,
    visits_by_patient.first_visit_at,
    visits_by_patient.last_visit_at,
    coalesce(visits_by_patient.visits, 0) as visits,
    coalesce(visits_by_patient.no_shows, 0) as no_shows,
    coalesce(visits_by_patient.total_paid, 0) as total_paid,
    coalesce(visits_by_patient.outstanding_balance, 0) as outstanding_balance
from {{ ref('stg_patients') }} as patients
left join visits_by_patient on visits_by_patient.patient_id = patients.patient_id
