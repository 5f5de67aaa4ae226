create table clinicians (
    clinician_id integer primary key,
    clinician_name varchar not null,
    specialty varchar not null
);

create table patients (
    patient_id integer primary key,
    full_name varchar not null,
    birth_date date not null,
    sex varchar,
    registered_at timestamp not null
);

create table visits (
    visit_id integer primary key,
    patient_id integer not null,
    clinician_id integer not null,
    checked_in_at timestamp not null,
    checked_out_at timestamp,
    visit_type varchar not null,
    fee decimal(8, 2) not null,
    paid decimal(8, 2)
);
