with monthly as (
    select
        cast(date_trunc('month', posted_on) as date) as period_month,
        account_id,
        sum(debit) as total_debit,
        sum(credit) as total_credit,
        sum(amount) as net_change
    from {{ ref('stg_journal_lines') }}
    group by 1, 2
)

select
    monthly.period_month,
    accounts.account_code,
    accounts.account_name,
    accounts.account_type,
    monthly.total_debit,
    monthly.total_credit,
    monthly.net_change,
    sum(monthly.net_change) over (
        partition by monthly.account_id order by monthly.period_month
    ) as closing_balance
from monthly
join {{ ref('stg_accounts') }} as accounts on accounts.account_id = monthly.account_id
order by monthly.period_month, accounts.account_code
