#!/usr/bin/env bash
# Drives benchmarks/loadserver with wrk on loopback: the same endpoint with
# no authentication, a cached API key, a cached JWT and a session cookie;
# and, when nginx is installed, nginx in front of the no-auth endpoint,
# alone and with auth_request asking the server's forward-auth endpoint
# (/api/auth/verify, an API key with the read scope) about each request,
# and with auth_request to a stub that always answers 200 (the cost of the
# subrequest itself). The runs are interleaved in rounds (none, apikey,
# jwt, session, nginx, nginx-noop, nginx-auth, repeated), so that the
# machine's drift hits every configuration alike; each round's ratios are
# taken to that round's no-auth run (for the nginx rows: that round's
# nginx-alone run). Prints, as a
# markdown table, each configuration's median requests per second, the
# median of its ratio with the ratio's range over the rounds, and its
# median p99 latency.
#
#   scripts/load.sh [seconds per run, default 4] [rounds, default 5] [connections, default 64]
#
# Needs wrk (Debian: apt-get install wrk); nginx for the nginx rows, which
# are skipped without it (apt-get install nginx). wrk, nginx and the server
# share the machine's cores, so the ratios are the figure to read.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-4}
rounds=${2:-5}
conns=${3:-64}
command -v wrk >/dev/null || { echo "load.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d)
chmod 755 "$work"
nginx_pid=
trap 'kill "$pid" 2>/dev/null || true; [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null; rm -rf "$work"' EXIT
(cd benchmarks && go build -o "$work/loadserver" ./loadserver)
"$work/loadserver" > "$work/out" &
pid=$!
for _ in $(seq 1 100); do grep -q '^READY ' "$work/out" 2>/dev/null && break; sleep 0.1; done
grep -q '^READY ' "$work/out" || { echo "load.sh: the server did not start" >&2; exit 1; }
addr=$(sed -n 's/^READY //p' "$work/out")
key=$(sed -n 's/^KEY=//p' "$work/out")
jwt=$(sed -n 's/^JWT=//p' "$work/out")
cookie=$(sed -n 's/^COOKIE=//p' "$work/out")

names=(none apikey jwt session)
declare -A header=(
  [none]=""
  [apikey]="Authorization: Bearer $key"
  [jwt]="Authorization: Bearer $jwt"
  [session]="Cookie: $cookie"
)
declare -A url=(
  [none]="http://$addr/none"
  [apikey]="http://$addr/apikey"
  [jwt]="http://$addr/jwt"
  [session]="http://$addr/session"
)
# The run each one's ratio is taken to.
declare -A base=([none]=none [apikey]=none [jwt]=none [session]=none)
declare -A label=([none]=none [apikey]=apikey [jwt]=jwt [session]=session)

# A loopback port below the ephemeral range that nobody answers on (nginx
# may still find it taken: start_nginx retries).
free_port() {
  local p low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in $(seq 1 50); do
    p=$((10000 + RANDOM % (low - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "load.sh: no free port" >&2; exit 1
}

nginx_bin=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)

# start_nginx starts nginx, one worker, with three servers on fresh ports:
# one proxies to /none; one does the same after an auth_request to a stub
# that always says yes; one after an auth_request to /api/auth/verify (the
# README's configuration). All keep their upstream connections alive. It
# fails when nginx exits (a port was taken).
start_nginx() {
  plain=127.0.0.1:$(free_port)
  authed=127.0.0.1:$(free_port)
  noop=127.0.0.1:$(free_port)
  mkdir -p "$work/nginx"
  user=
  [ "$(id -u)" = 0 ] && user="user root;"
  cat > "$work/nginx/nginx.conf" <<CONF
$user
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  proxy_http_version 1.1;
  upstream app { server $addr; keepalive 128; }
  upstream gatehouse { server $addr; keepalive 128; }

  server {
    listen $plain;
    location / {
      proxy_set_header Connection "";
      proxy_pass http://app;
    }
  }

  # The same auth_request to a stub that always answers 200 with no body:
  # what the subrequest and its hop cost by themselves.
  server {
    listen $noop;
    location / {
      auth_request /_noop;
      proxy_set_header Connection "";
      proxy_pass http://app;
    }
    location = /_noop {
      internal;
      proxy_pass http://app/allow;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Connection "";
    }
  }

  server {
    listen $authed;
    location / {
      auth_request /_gatehouse;
      auth_request_set \$gh_principal \$upstream_http_x_gatehouse_principal;
      auth_request_set \$gh_kind \$upstream_http_x_gatehouse_kind;
      auth_request_set \$gh_tenant \$upstream_http_x_gatehouse_tenant;
      auth_request_set \$gh_scopes \$upstream_http_x_gatehouse_scopes;
      auth_request_set \$gh_key_id \$upstream_http_x_gatehouse_key_id;
      proxy_set_header X-Gatehouse-Principal \$gh_principal;
      proxy_set_header X-Gatehouse-Kind \$gh_kind;
      proxy_set_header X-Gatehouse-Tenant \$gh_tenant;
      proxy_set_header X-Gatehouse-Scopes \$gh_scopes;
      proxy_set_header X-Gatehouse-Key-Id \$gh_key_id;
      proxy_set_header Authorization "";
      proxy_set_header Connection "";
      proxy_pass http://app;
    }
    location = /_gatehouse {
      internal;
      proxy_pass http://gatehouse/api/auth/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-Method \$request_method;
      proxy_set_header X-Forwarded-Uri \$request_uri;
      proxy_set_header X-Forwarded-Host \$host;
    }
  }
}
CONF
  "$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" -e "$work/nginx/error.log" -g 'daemon off;' 2>>"$work/nginx/error.log" &
  nginx_pid=$!
  for _ in $(seq 1 100); do
    kill -0 "$nginx_pid" 2>/dev/null || { nginx_pid=; return 1; }
    curl -s -o /dev/null "http://$plain/none" && return 0
    sleep 0.1
  done
  echo "load.sh: nginx did not answer" >&2; cat "$work/nginx/error.log" >&2; exit 1
}

if [ -n "$nginx_bin" ]; then
  for try in 1 2 3 4 5; do
    start_nginx && break
    [ "$try" = 5 ] && { echo "load.sh: nginx did not start" >&2; cat "$work/nginx/error.log" >&2; exit 1; }
  done
  names+=(nginx nginx-noop nginx-auth)
  for n in nginx nginx-noop nginx-auth; do header[$n]="Authorization: Bearer $key"; base[$n]=nginx; done
  url[nginx]="http://$plain/none"
  url[nginx-noop]="http://$noop/none"
  url[nginx-auth]="http://$authed/none"
  label[nginx]="nginx alone"
  label[nginx-noop]="nginx + auth_request to a 200 stub (× nginx alone)"
  label[nginx-auth]="nginx + auth_request to Gatehouse (× nginx alone)"
  # auth_request must be deciding: no key, no answer.
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$authed/none")
  [ "$code" = 401 ] || { echo "load.sh: nginx + auth_request without a key answered $code" >&2; cat "$work/nginx/error.log" >&2; exit 1; }
else
  echo "load.sh: nginx is not installed (apt-get install nginx): the nginx + auth_request row is skipped" >&2
fi

# Every run must answer 200: a run of refusals would look fast.
for n in "${names[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' ${header[$n]:+-H "${header[$n]}"} "${url[$n]}")
  [ "$code" = 200 ] || { echo "load.sh: $n (${url[$n]}) answered $code" >&2; exit 1; }
done

run() { # name, seconds, output file
  wrk -t2 -c"$conns" -d"$2s" --latency ${header[$1]:+-H "${header[$1]}"} "${url[$1]}" > "$3"
  if grep -q 'Non-2xx' "$3"; then
    echo "load.sh: $1 had non-2xx answers" >&2; cat "$3" >&2; exit 1
  fi
}

# A short pass to warm the server (caches, heap, connections), not counted.
for n in "${names[@]}"; do run "$n" 1 "$work/warm"; done

# One line per run: round, name, requests/s, p99 in ms.
for r in $(seq "$rounds"); do
  for n in "${names[@]}"; do
    run "$n" "$secs" "$work/run"
    awk -v r="$r" -v n="$n" '
      /^Requests\/sec:/ { rps = $2 }
      $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                    p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v }
      END { print r, n, rps, p99 }' "$work/run" >> "$work/runs"
  done
done

bases=
for n in "${names[@]}"; do bases+="$n=${base[$n]}|${label[$n]};"; done
echo "wrk -t2 -c$conns, $rounds interleaved rounds of ${secs}s runs (${names[*]}) on loopback," \
  "$(nproc) cores shared by wrk$([ -n "$nginx_bin" ] && echo ", nginx (1 worker)") and the server"
echo
echo "| run | requests/s (median) | × no auth (median) | × no auth (range) | p99 latency (median) |"
echo "| --- | ---: | ---: | ---: | ---: |"
awk -v order="${names[*]}" -v bases="$bases" '
  function median(s,    a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    lo = a[1]; hi = a[n]
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { rps[$1, $2] = $3; rs[$2] = rs[$2] " " $3; p99[$2] = p99[$2] " " $4; rounds[$1] = 1 }
  END {
    m = split(bases, bs, ";")
    for (i = 1; i <= m; i++) {
      if (bs[i] == "") continue
      split(bs[i], kv, "="); split(kv[2], bl, "|"); base[kv[1]] = bl[1]; label[kv[1]] = bl[2]
    }
    k = split(order, names, " ")
    for (i = 1; i <= k; i++) {
      n = names[i]; ratios = ""
      for (r in rounds) ratios = ratios " " rps[r, n] / rps[r, base[n]]
      mr = median(ratios); rlo = lo; rhi = hi
      printf "| %s | %.0f | %.2f | %.2f–%.2f | %.2fms |\n", label[n], median(rs[n]), mr, rlo, rhi, median(p99[n])
    }
  }' "$work/runs"
