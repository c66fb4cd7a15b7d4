# PostgreSQL 17 from Debian trixie. An empty data directory (a fresh volume) is initialised
# on first start by the entrypoint; POSTGRES_PASSWORD set -> scram-sha-256 over the network,
# unset -> trust (only for private dev/test networks).
FROM debian:trixie-slim

# Debian's packaging would create and start a "main" cluster at install time: not wanted,
# the data directory belongs to the volume. Docs, man pages and message translations are
# not installed, and the LLVM JIT (~160 MB, off by default for short queries anyway) is
# removed: PostgreSQL runs without JIT when llvmjit.so is absent.
RUN set -eux; \
    printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-exclude=/usr/share/man/*' \
        'path-exclude=/usr/share/locale/*' >/etc/dpkg/dpkg.cfg.d/slim; \
    mkdir -p /etc/postgresql-common/createcluster.d; \
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/no-main-cluster.conf; \
    apt-get update; \
    apt-get install -y --no-install-recommends postgresql-17; \
    rm -rf /usr/lib/postgresql/17/lib/llvmjit* /usr/lib/postgresql/17/lib/bitcode; \
    dpkg --remove --force-depends libllvm19 libz3-4; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log; \
    mkdir -p /var/lib/postgresql/data /run/postgresql; \
    chown -R postgres:postgres /var/lib/postgresql /run/postgresql; \
    chmod 0700 /var/lib/postgresql/data

# The script is executable in git; the classic builder keeps the mode (no --chmod there).
COPY compose/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint

ENV PATH=/usr/lib/postgresql/17/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
# Fast shutdown on `docker stop`: active sessions are cut, data is flushed.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=2s --timeout=3s --start-period=30s --retries=5 \
    CMD pg_isready -q -h 127.0.0.1 -p 5432 -U "${POSTGRES_USER:-postgres}"
ENTRYPOINT ["postgres-entrypoint"]
