select
    account_id,
    account_code,
    account_name,
    account_type
from {{ source('ledger', 'accounts') }}
