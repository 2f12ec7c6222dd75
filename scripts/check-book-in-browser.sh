#!/usr/bin/env bash
# Renders the book with the in-process builder (no installed mdBook) and checks the result in a
# real browser, Debian's headless chromium, over file://:
#   - every page listed in book/src/SUMMARY.md renders: a title and content in <main>, no
#     unexpanded {{#...}}, no empty or unhighlighted code block, the theme's CSS loaded;
#   - admonitions are styled by mdbook-admonish.css (computed border, title background, icon)
#     and speaker notes stay hidden outside instructor mode;
#   - pages whose source uses {{#cp-diff}} show diff blocks with highlighted +/- lines;
#   - the search (?search=WORD on the first page) lists the last chapter in SUMMARY.md, for the
#     last chapter's most frequent word that no other page contains;
#   - no page throws an uncaught JavaScript error.
# Then saves screenshots of three pages into OUT_DIR: the first page, the first diff block of the
# first page with {{#cp-diff}} (opened), and the search results.
#
#   bash scripts/check-book-in-browser.sh [OUT_DIR]      # default: target/browser-check
#
# The checks run in scripts/browser-check/browser-check.js, inside the browser: harness.html
# loads each page into a frame and writes one line per check into its own DOM, which chromium's
# --dump-dom prints. Needs `chromium` (Debian: apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() { echo "check-book-in-browser: $*" >&2; exit 1; }

out="${1:-target/browser-check}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
browser="${CHROMIUM:-chromium}"
command -v "$browser" >/dev/null || fail "no '$browser' on PATH (Debian: apt-get install -y chromium)"

echo "check-book-in-browser: building the book into $out/book"
html="$(cargo run --quiet --locked -p book-tools --example build_book -- "$out/book" | tail -n1)"
[ -f "$html/index.html" ] || fail "the build printed '$html', which has no index.html"

# The pages in reading order, as SUMMARY.md lists them (draft entries have no file).
pages=()
while IFS= read -r source; do
  case "$source" in
    README.md) pages+=("index.html") ;;
    */README.md) pages+=("${source%README.md}index.html") ;;
    *) pages+=("${source%.md}.html") ;;
  esac
done < <(sed -n 's/^[[:space:]]*[-*]\{0,1\}[[:space:]]*\[[^]]*\](\([^)]*\.md\)).*/\1/p' book/src/SUMMARY.md)
[ "${#pages[@]}" -gt 0 ] || fail "no pages found in book/src/SUMMARY.md"
diff_pages=()
for page in "${pages[@]}"; do
  source="book/src/${page%.html}.md"
  if [ -f "$source" ] && grep -q '{{#cp-diff' "$source"; then
    diff_pages+=("$page")
  fi
done
last_page="${pages[${#pages[@]} - 1]}"

json_list() { # items... -> ["a","b"]
  local item sep=""
  printf '['
  for item in "$@"; do printf '%s"%s"' "$sep" "$item"; sep=","; done
  printf ']'
}
{
  printf 'window.CHECK_CONFIG = {\n'
  printf '  pages: %s,\n' "$(json_list "${pages[@]}")"
  printf '  diffPages: %s,\n' "$(json_list "${diff_pages[@]}")"
  printf '  lastPage: "%s"\n};\n' "$last_page"
} >"$html/browser-check-config.js"
cp scripts/browser-check/harness.html "$html/browser-check.html"
cp scripts/browser-check/browser-check.js "$html/browser-check.js"

# A fresh profile each run: instructor mode is remembered in localStorage.
profile="$out/chromium-profile"
run_browser() {
  rm -rf "$profile"
  # Debian's wrapper script prints a harmless shell warning on some hosts; keep stderr in a log.
  timeout 300 "$browser" --headless --disable-gpu --no-sandbox --no-first-run \
    --user-data-dir="$profile" --allow-file-access-from-files \
    --enable-logging=stderr --v=0 "$@"
}

echo "check-book-in-browser: checking ${#pages[@]} pages in $("$browser" --version 2>/dev/null | head -n1)"
run_browser --virtual-time-budget=600000 --dump-dom "file://$html/browser-check.html" \
  >"$out/dom.html" 2>"$out/chromium.log" || fail "chromium failed (log: $out/chromium.log)"

unescape() { sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e "s/&#39;/'/g" -e 's/&amp;/\&/g'; }
sed -n '/<pre id="report">/,/<\/pre>/p' "$out/dom.html" \
  | sed -e 's/.*<pre id="report">//' -e 's/<\/pre>.*//' | unescape | sed '/^$/d' >"$out/report.txt"
result="$(sed -n 's/.*<div id="status">\([a-z]*\)<\/div>.*/\1/p' "$out/dom.html")"
cat "$out/report.txt"

problems=0
if [ "$result" != "passed" ]; then
  echo "check-book-in-browser: the in-browser checks ended '${result:-without a status}'" >&2
  grep '^FAIL' "$out/report.txt" >&2 || true
  problems=1
fi
# Uncaught errors from any page (chromium logs the console with --enable-logging).
if grep -n 'Uncaught' "$out/chromium.log" >&2; then
  echo "check-book-in-browser: a page threw the JavaScript error(s) above" >&2
  problems=1
fi
# Not a failure (the block still shows, unhighlighted), but worth knowing.
if grep -q 'Could not find the language' "$out/chromium.log"; then
  echo "check-book-in-browser: warning: highlight.js has no module for:" \
    "$(sed -n "s/.*Could not find the language '\([^']*\)'.*/\1/p" "$out/chromium.log" | sort -u | tr '\n' ' ')" \
    "(those code blocks show unhighlighted)" >&2
fi
[ "$problems" -eq 0 ] || fail "FAILED (full report: $out/report.txt, browser log: $out/chromium.log)"

# Screenshots of three pages, for a human look and for the record.
term="$(sed -n 's/^info search-term //p' "$out/report.txt")"
first_diff="${diff_pages[0]:-${pages[0]}}"
shots=(
  "01-first-page.png|${pages[0]}"
  "02-diff.png|browser-check.html?view=$first_diff"
  "03-search.png|${pages[0]}?search=$term"
)
for shot in "${shots[@]}"; do
  name="${shot%%|*}"
  rm -f "$out/$name"
  run_browser --hide-scrollbars --window-size=1280,1600 --virtual-time-budget=10000 \
    --screenshot="$out/$name" "file://$html/${shot#*|}" >/dev/null 2>>"$out/chromium.log" \
    || fail "chromium could not take $name (log: $out/chromium.log)"
  [ "$(wc -c <"$out/$name" 2>/dev/null || echo 0)" -gt 10000 ] || fail "screenshot $out/$name is missing or blank"
done
rm -rf "$profile"

echo "check-book-in-browser: OK: $(grep -c '^ok' "$out/report.txt") checks passed on ${#pages[@]} pages; screenshots in $out"
