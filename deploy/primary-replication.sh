#!/usr/bin/env bash
# Run once by the postgres image when it initialises the primary: lets the replica stream the WAL
# as the service's user over the compose network ("all" in pg_hba.conf does not cover replication).
set -euo pipefail
echo "host replication ${POSTGRES_USER} all scram-sha-256" >>"$PGDATA/pg_hba.conf"
