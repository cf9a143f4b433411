#!/usr/bin/env bash
# Spawns caused by an idle fleet on a busy host: a balancer with FLEET_MIN=1 and no clients, while two busy loops take both cores for 60 s; prints the events.
# Run from the repository root after `npm run build`.
set -u
port=$((20000 + RANDOM % 10000))
redis-server --port $port --save '' --appendonly no --daemonize yes --pidfile /tmp/idle-busy-redis.pid >/dev/null
bport=$((30000 + RANDOM % 10000))
REDIS_URL=redis://127.0.0.1:$port PORT=$bport FLEET_MIN=1 FLEET_MAX=4 LOG_FORMAT=json node apps/balancer/dist/main.js > /tmp/idle-busy-bal.log 2>&1 &
bal=$!
sleep 6
# two busy loops on a 2-core machine: every core taken by other programs
for i in 1 2; do node -e 'const end=Date.now()+60000; while(Date.now()<end){}' & done
sleep 62
curl -s localhost:$bport/stats > /tmp/idle-busy-stats.json
kill -INT $bal; wait $bal
redis-cli -p $port shutdown nosave >/dev/null 2>&1
node -e '
const s=require("/tmp/idle-busy-stats.json");
const ev=s.events; const count=(k)=>ev.filter(e=>e.kind===k).length;
console.log("spawns", count("spawn"), "(FLEET_MIN start included)", "redistributes", count("redistribute"), "idle-lag", count("idle-lag"), "no-spawn", count("no-spawn"));
for (const e of ev) console.log(new Date(e.ts).toISOString().slice(11,19), e.kind, e.serverId, e.detail.slice(0,200));
const lag=s.servers.map(x=>Math.max(...x.history.eventLoopMs)); console.log("max lag per server", lag);
'
