create table stands (
    stand_id integer primary key,
    stand_name varchar not null,
    city varchar not null,
    opened_on date not null
);

create table sales (
    sale_id integer primary key,
    stand_id integer not null,
    sold_at timestamp not null,
    cups integer not null,
    unit_price decimal(6, 2) not null,
    coupon_code varchar,
    discount decimal(6, 2)
);

create table weather (
    day date not null,
    city varchar not null,
    high_temp_c decimal(4, 1),
    rained boolean not null
);
