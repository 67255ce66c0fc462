#!/bin/sh
# faultline-zookeeper DATADIR MYID CLIENTPORT TICKMS SERVER...
# SERVER is "N=host:quorumport:electionport", one per member.
#
# Starts one member of a ZooKeeper ensemble from Debian's zookeeper package:
# writes zoo.cfg (with the four-letter words the health and leader checks
# use) and myid into DATADIR, then runs QuorumPeerMain in the foreground,
# logging to the console.
set -eu
data=$1 id=$2 port=$3 tick=$4
shift 4
mkdir -p "$data/zk" "$data/conf"
echo "$id" >"$data/zk/myid"
{
	echo "tickTime=$tick"
	echo "initLimit=10"
	echo "syncLimit=5"
	echo "dataDir=$data/zk"
	echo "clientPort=$port"
	echo "maxClientCnxns=0"
	echo "4lw.commands.whitelist=ruok,srvr,stat,mntr"
	echo "admin.enableServer=false"
	echo "quorumListenOnAllIPs=true"
	echo "reconfigEnabled=false"
	for s; do echo "server.$s"; done
} >"$data/conf/zoo.cfg"
cat >"$data/conf/log4j.properties" <<'LOG'
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] %-5p [%t] %c{1}@%L - %m%n
LOG
exec java -Xms64m -Xmx256m -XX:+UseSerialGC -Dzookeeper.log.dir="$data" \
	-Dlog4j.configuration="file:$data/conf/log4j.properties" \
	-cp "$data/conf:/usr/share/java/zookeeper.jar" \
	org.apache.zookeeper.server.quorum.QuorumPeerMain "$data/conf/zoo.cfg"
