select
    lines.line_id,
    lines.entry_id,
    entries.posted_on,
    lines.account_id,
    coalesce(lines.debit, 0) as debit,
    coalesce(lines.credit, 0) as credit,
    {{ signed_amount('lines.debit', 'lines.credit') }} as amount
from {{ source('ledger', 'journal_lines') }} as lines
join {{ source('ledger', 'journal_entries') }} as entries on entries.entry_id = lines.entry_id
