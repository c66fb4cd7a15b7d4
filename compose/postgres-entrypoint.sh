#!/bin/sh
# Initialises an empty $PGDATA once, then runs postgres in the foreground with any extra
# arguments (e.g. `-c fsync=off` for throw-away test databases).
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
user="${POSTGRES_USER:-postgres}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=""
    auth=trust
    if [ -n "${POSTGRES_PASSWORD:-}" ]; then
        auth=scram-sha-256
        pwfile="$(mktemp)"
        printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    fi
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options
    initdb -D "$PGDATA" -U "$user" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host="$auth" --no-instructions \
        ${pwfile:+--pwfile="$pwfile"} ${POSTGRES_INITDB_ARGS:-} >/dev/null
    [ -z "$pwfile" ] || rm -f "$pwfile"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"
    db="${POSTGRES_DB:-$user}"
    if [ "$db" != "postgres" ]; then
        echo "CREATE DATABASE \"$db\" OWNER \"$user\"" |
            postgres --single -D "$PGDATA" -c listen_addresses='' postgres >/dev/null
    fi
    echo "postgres-entrypoint: initialised $PGDATA (database $db, host auth $auth)"
fi

exec postgres -D "$PGDATA" "$@"
