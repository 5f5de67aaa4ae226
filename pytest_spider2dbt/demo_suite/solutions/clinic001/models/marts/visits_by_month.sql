select
    cast(date_trunc('month', visits.checked_in_at) as date) as visit_month,
    clinicians.specialty,
    count(*) as visits,
    count(*) filter (where visits.is_no_show) as no_shows,
    sum(visits.fee) as total_fees,
    sum(visits.paid_amount) as total_paid,
    sum(visits.outstanding_amount) as outstanding,
    round(avg(visits.duration_minutes), 1) as avg_duration_minutes
from {{ ref('stg_visits') }} as visits
join {{ ref('stg_clinicians') }} as clinicians on clinicians.clinician_id = visits.clinician_id
group by 1, 2
