#!/usr/bin/env bash
# PostgreSQL (127.0.0.1:5432, user postgres without password) and RabbitMQ (127.0.0.1:5672, guest/guest)
# for the production-profile and broker tests: installed from Debian's packages when absent, started
# when stopped; services that already answer are left alone. Usage: services.sh [start|status]
set -euo pipefail
SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
export DEBIAN_FRONTEND=noninteractive

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # port, name, seconds
    for _ in $(seq "$3"); do answers "$1" && return 0; sleep 1; done
    echo "$2 did not answer on 127.0.0.1:$1 within $3 s" >&2
    return 1
}

apt_install() {
    echo "Installing Debian packages: $*"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
    if answers 5432; then echo "PostgreSQL answers on 127.0.0.1:5432 (left as it is)"; return; fi
    local fresh=0
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then apt_install postgresql; fresh=1; fi
    local version
    version=$(pg_lsclusters -h | awk '{print $1}' | sort -V | tail -1)
    if [ -z "$version" ]; then
        version=$(ls /usr/lib/postgresql | sort -V | tail -1)
        $SUDO pg_createcluster "$version" main >/dev/null
        fresh=1
    fi
    if [ "$fresh" -eq 1 ]; then
        # A cluster made here serves only this machine's tests: local TCP connections without password, as CI's.
        local hba="/etc/postgresql/$version/main/pg_hba.conf"
        $SUDO sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
        $SUDO sed -i -E 's/^(local\s+all\s+(postgres|all)\s+)\S+/\1trust/' "$hba"
    fi
    echo "Starting PostgreSQL $version"
    $SUDO pg_ctlcluster "$version" main start || true
    wait_for 5432 PostgreSQL 60
}

ensure_rabbitmq() {
    if answers 5672; then echo "RabbitMQ answers on 127.0.0.1:5672 (left as it is)"; return; fi
    if ! command -v rabbitmq-server >/dev/null 2>&1; then apt_install rabbitmq-server; fi
    echo "Starting RabbitMQ"
    # Not the init script: without systemd its `rabbitmqctl wait` on a PID file can hang. Debian's
    # rabbitmq-server wrapper switches to the rabbitmq user itself.
    $SUDO rabbitmq-server -detached
    wait_for 5672 RabbitMQ 120
}

case "${1:-start}" in
    start) ensure_postgres; ensure_rabbitmq ;;
    status)
        answers 5432 && echo "PostgreSQL: answers" || echo "PostgreSQL: no answer"
        answers 5672 && echo "RabbitMQ: answers" || echo "RabbitMQ: no answer" ;;
    *) echo "usage: $0 [start|status]" >&2; exit 2 ;;
esac
