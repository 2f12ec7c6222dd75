#!/usr/bin/env bash
# Checks the tools the book needs and says clearly what is missing or too old.
# Usage: scripts/doctor.sh            (exit status 1 if a required tool is missing or too old)
set -uo pipefail

# tool | minimum | tested | required-from | version command
TOOLS=(
  "cargo|1.95.0|1.95.0|chapter 1|cargo --version"
  "docker|20.10.0|28.2.2|chapter 3|docker version --format {{.Client.Version}}"
  "kind|0.32.0|0.33.0|setup|kind version"
  "kubectl|1.33.0|1.36.4|setup|kubectl version --client"
  "clusterctl|1.14.0|1.14.2|setup|clusterctl version -o short"
  "tilt|0.37.0|0.37.7|chapter 2|tilt version"
  "kustomize|5.8.0|5.8.1|chapter 2|kustomize version"
)

problems=0
if [ -t 1 ]; then ok=$'\e[32mok\e[0m'; bad=$'\e[31m'; warn=$'\e[33m'; off=$'\e[0m'; else ok=ok; bad=; warn=; off=; fi

# Prints the first x.y.z found in the text on stdin.
first_version() { grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1; }
# True if version $1 >= version $2.
at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

for row in "${TOOLS[@]}"; do
  IFS='|' read -r tool minimum tested needed command <<<"$row"
  if ! command -v "$tool" >/dev/null 2>&1; then
    printf '%-11s %sMISSING%s  needed from %s; install %s (tested with %s)\n' "$tool" "$bad" "$off" "$needed" "$tool" "$tested"
    problems=$((problems + 1))
    continue
  fi
  version=$($command 2>/dev/null | first_version)
  if [ -z "$version" ]; then
    printf '%-11s %sUNKNOWN%s  "%s" printed no version\n' "$tool" "$warn" "$off" "$command"
    problems=$((problems + 1))
  elif at_least "$version" "$minimum"; then
    printf '%-11s %s       %s (minimum %s, tested %s)\n' "$tool" "$ok" "$version" "$minimum" "$tested"
  else
    printf '%-11s %sTOO OLD%s  %s is older than %s, needed from %s (tested %s)\n' "$tool" "$bad" "$off" "$version" "$minimum" "$needed" "$tested"
    problems=$((problems + 1))
  fi
done

# The Docker daemon, not only the client.
if command -v docker >/dev/null 2>&1; then
  if server=$(docker version --format '{{.Server.Version}}' 2>/dev/null) && [ -n "$server" ]; then
    printf '%-11s %s       daemon %s answers\n' "dockerd" "$ok" "$server"
  else
    printf '%-11s %sDOWN%s     the Docker daemon does not answer: start Docker Desktop or dockerd\n' "dockerd" "$bad" "$off"
    problems=$((problems + 1))
  fi
fi

# Machine size: CAPD-style clusters fail on small Docker VMs.
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 0)
mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)
if [ "$cpus" -lt 4 ]; then printf '%-11s %sSMALL%s    %s CPUs; 4 or more recommended\n' "cpus" "$warn" "$off" "$cpus"; fi
if [ "${mem_kb:-0}" -gt 0 ] && [ "$mem_kb" -lt 15000000 ]; then
  printf '%-11s %sSMALL%s    %s GiB of memory; 16 GiB recommended\n' "memory" "$warn" "$off" "$((mem_kb / 1048576))"
fi

if [ "$problems" -gt 0 ]; then
  echo "doctor: $problems problem(s) above. The Prerequisites chapter says how to install each tool."
  exit 1
fi
echo "doctor: everything needed is installed."
