#!/bin/bash
# CPU µs per request of `switchboard start --workers N` (the primary and every worker counted),
# virtual key with rpm, tpm and budget set, 32 connections, non-streaming, against bench/mock-upstream.js.
# usage: bench/workers-cpu.sh WORKERS [PORT]   (needs wrk and the build: npm run build)
set -euo pipefail
W=${1:?workers}; P=${2:-4751}; UP=$((P + 1000))
ROOT=$(cd "$(dirname "$0")/.." && pwd); D=$(mktemp -d)
node "$ROOT/bench/mock-upstream.js" $UP > "$D/upstream.txt" 2>&1 & UPSTREAM=$!
cat > "$D/config.yaml" <<YAML
model_list:
  - model_name: bench-model
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:$UP/v1", api_key: sk-x}
general_settings:
  master_key: sk-bench-master-0123456789
YAML
LOG_LEVEL=warn node "$ROOT/bin/switchboard.js" start --config "$D/config.yaml" --port $P --data-dir "$D/data" --workers $W > "$D/out.txt" 2>&1 & PRIMARY=$!
trap 'kill -TERM $PRIMARY $UPSTREAM 2>/dev/null; wait $PRIMARY 2>/dev/null; rm -rf "$D"' EXIT
for _ in $(seq 1 60); do sleep 1; curl -sf -o /dev/null localhost:$P/health/readiness && break; done
K=$(curl -s localhost:$P/key/generate -H 'authorization: Bearer sk-bench-master-0123456789' -d '{"rpm_limit":100000000,"tpm_limit":1000000000,"max_budget":100000}' | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).key))')
cat > "$D/req.lua" <<LUA
wrk.method="POST"; wrk.body='{"model":"bench-model","messages":[{"role":"user","content":"hi"}],"max_tokens":5}'; wrk.headers["content-type"]="application/json"; wrk.headers["authorization"]="Bearer $K"
LUA
wrk -t2 -c32 -d12s -s "$D/req.lua" http://127.0.0.1:$P/v1/chat/completions > /dev/null # warm-up (each worker compiles its own code)
ticks() { local t=0; for p in $PRIMARY $(cat /proc/$PRIMARY/task/$PRIMARY/children 2>/dev/null); do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
T0=$(ticks)
OUT=$(wrk -t2 -c32 -d8s -s "$D/req.lua" http://127.0.0.1:$P/v1/chat/completions)
T1=$(ticks)
N=$(echo "$OUT" | awk '/requests in/{print $1}')
echo "workers=$W req/s=$(echo "$OUT" | awk '/Requests\/sec/{print $2}') requests=$N cpu_us_per_req=$(( (T1 - T0) * 10000 / N )) load=$(cut -d' ' -f1 /proc/loadavg) $(echo "$OUT" | grep -E 'Socket errors|Non-2xx' | tr '\n' ' ')"
