select
    entry_id,
    sum(debit) as total_debit,
    sum(credit) as total_credit
from {{ ref('stg_journal_lines') }}
group by entry_id
having sum(debit) <> sum(credit)
