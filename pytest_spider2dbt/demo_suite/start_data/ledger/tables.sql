create table accounts (
    account_id integer primary key,
    account_code varchar not null,
    account_name varchar not null,
    account_type varchar not null
);

create table journal_entries (
    entry_id integer primary key,
    posted_on date not null,
    memo varchar,
    created_at timestamp not null
);

create table journal_lines (
    line_id integer primary key,
    entry_id integer not null,
    account_id integer not null,
    debit decimal(12, 2),
    credit decimal(12, 2)
);
