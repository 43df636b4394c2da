-- Periodic jobs that must run on one replica at a time (the retention purge): each job's
-- lease names the replica that holds it and until when (milliseconds). A replica runs the job
-- only while it holds the lease; it renews the lease each time it runs, and another replica
-- takes the job over once a lease has expired (its holder stopped or lost the database).

CREATE TABLE job_leases (
    job TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
