#!/bin/sh
# faultline-postgres primary DATADIR PORT [SETTING...]
# faultline-postgres replica DATADIR PORT PRIMARY_HOST PRIMARY_PORT [SETTING...]
#
# Starts one node of a throwaway test cluster as the postgres user: the
# primary runs initdb into DATADIR on its first start; a replica copies the
# primary with pg_basebackup and streams from it. Later starts (after a kill)
# find the data and just start the server.
#
# initdb and pg_basebackup skip their final fsync (--no-sync): the faults
# here kill processes, never the machine, so the page cache survives them;
# the server itself runs with fsync on.
set -eu
role=$1 data=$2 port=$3
bin=/usr/lib/postgresql/15/bin
pgdata=$data/pgdata
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

mkdir -p "$data"
chown postgres:postgres "$data"

if [ ! -s "$pgdata/PG_VERSION" ]; then
	case $role in
	primary)
		rm -rf "$pgdata"
		as_pg "$bin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
		# Trust, but only from the subnets the server is attached to: the
		# run's own network (peers, and the harness through the published
		# port, which arrives from the network's gateway). This is a
		# throwaway test cluster; nothing else can reach it.
		{
			echo "host all all samenet trust"
			echo "host replication all samenet trust"
		} >>"$pgdata/pg_hba.conf"
		;;
	replica)
		phost=$4 pport=$5
		# The primary may still be starting: retry until it answers (the
		# harness's health timeout bounds the wait).
		until as_pg "$bin/pg_basebackup" -h "$phost" -p "$pport" -U postgres -D "$pgdata" -X stream -R -c fast --no-sync; do
			rm -rf "$pgdata"
			sleep 0.5
		done
		;;
	*)
		echo "faultline-postgres: unknown role $role" >&2
		exit 2
		;;
	esac
fi

# What follows the role's arguments goes to the server (-c name=value).
if [ "$role" = replica ]; then shift 5; else shift 3; fi

exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$pgdata" \
	-c listen_addresses='*' -c port="$port" \
	-c fsync=on -c synchronous_commit=on -c full_page_writes=on \
	-c wal_level=replica -c max_wal_senders=10 -c wal_keep_size=256MB -c hot_standby=on \
	-c max_connections=200 -c unix_socket_directories=/tmp "$@"
