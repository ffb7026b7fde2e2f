#!/bin/bash
# Deckhand: read what this host really has (read-only: hashes files, asks its own front server)
set -uo pipefail
export LC_ALL=C
REPO='/home/ubuntu/aegis'
FRONT_URL='http://localhost/'
MAX_FILES=300
MARKER='DECKHAND_HOST_TRUTH'
if ! cd "$REPO" 2>/dev/null; then printf '%s {"v":1,"repo":false}\n' "$MARKER"; exit 0; fi
out='{"v":1,"repo":true'
manifest=''
if [ -f .deckhand/manifest.json ]; then manifest="$(sha256sum .deckhand/manifest.json | cut -c1-64)"; fi
out+=',"manifest":"'"$manifest"'","paths":['
listed=0
sep=''
for p in 'ui/dist' 'ui/nginx.conf' 'services/audit' 'services/gateway'; do
  if [ ! -e "$p" ]; then out+="$sep"'{"path":"'"$p"'","exists":false}'; sep=','; continue; fi
  sums="$(find "$p" -type f -print0 | sort -z | xargs -0r sha256sum)"
  digest="$(printf '%s' "$sums" | sha256sum | cut -c1-64)"
  count=0; odd=0; truncated=false; files=''; fsep=''
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    count=$((count + 1))
    f="${line:66}"
    case "$line" in \\*) odd=$((odd + 1)); continue ;; esac
    case "$f" in *[!A-Za-z0-9_./@+-]*) odd=$((odd + 1)); continue ;; esac
    if [ "$listed" -ge "$MAX_FILES" ]; then truncated=true; continue; fi
    files+="$fsep"'["'"$f"'","'"${line:0:16}"'"]'; fsep=','; listed=$((listed + 1))
  done <<< "$sums"
  out+="$sep"'{"path":"'"$p"'","exists":true,"digest":"'"$digest"'","count":'"$count"',"odd":'"$odd"',"truncated":'"$truncated"',"files":['"$files"']}'
  sep=','
done
page="$(curl -fsS --max-time 5 "$FRONT_URL" 2>/dev/null | head -c 262144)"
front_ok=false; [ -n "$page" ] && front_ok=true
index_js="$(printf '%s' "$page" | grep -oE 'index-[A-Za-z0-9_-]{1,64}\.js' | head -n1)"
out+='],"front":{"ok":'"$front_ok"',"indexJs":"'"$index_js"'"}}'
printf '%s %s\n' "$MARKER" "$out"
