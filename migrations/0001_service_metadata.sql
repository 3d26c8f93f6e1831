-- The first migration only proves the migration path; the domain tables follow with the
-- assessments API. Records which model versions have been served, so a stored score can always
-- be traced to the model that produced it.
create table model_versions (
    version      text primary key,
    first_served timestamptz not null default now()
);
