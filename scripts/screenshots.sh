#!/usr/bin/env bash
# Remakes docs/screenshots/: imports the real GH Archive hour of
# testdata/github into a scratch database, serves it, and has headless
# Chromium photograph each chart (no network besides loopback), 1280 px
# wide (NAME.png) and 390 px wide, a phone (NAME-390.png).
#   scripts/screenshots.sh [SERVER_URL]   (default: the local PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")/.."
server=${1:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
db=ghevents_screenshots
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
make -s build
psql -q "$server" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
export DATABASE_URL=${server%%/postgres\?*}/$db?sslmode=disable LOG_LEVEL=warn HTTP_ADDR=127.0.0.1:18555
./bin/ghevents migrate up >/dev/null
./bin/ghevents import testdata/github/gharchive-2015-01-01-0.json.gz
./bin/ghevents serve & pid=$!
profile=$(mktemp -d)
trap 'kill $pid; wait $pid 2>/dev/null; rm -rf "$profile"; psql -q "$server" -c "DROP DATABASE IF EXISTS $db"' EXIT
sleep 2
since=$(( $(date +%s) - $(date -d 2015-01-01T00:00:00Z +%s) + 3600 ))  # every event, with an hour to spare
shoot() {
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
    --disable-component-update --disable-sync --disable-quic --user-data-dir="$profile/$1" \
    --window-size=1280,900 --virtual-time-budget=5000 --screenshot="docs/screenshots/$1.png" "http://$HTTP_ADDR$2" 2>/dev/null
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
    --disable-component-update --disable-sync --disable-quic --user-data-dir="$profile/$1-390" \
    --window-size=390,844 --virtual-time-budget=5000 --screenshot="docs/screenshots/$1-390.png" "http://$HTTP_ADDR$2" 2>/dev/null
}
shoot event-avg-time "/visualization/event-avg-time?scale=log"
shoot event-avg-time-pullrequest "/visualization/event-avg-time?event_type=PullRequestEvent&scale=linear"
shoot events-total-count "/visualization/events-total-count?offset=$since"
shoot multiple-events-repos "/visualization/multiple-events-repos?event_type=PushEvent&minimal_events_count=5&limit=20"
hour="offset=3600&until=2015-01-01T01:00:00Z"  # the stored hour, as a window ending with it
shoot events-timeline "/visualization/events-timeline?$hour&bucket=minute"
shoot events-timeline-push-cumulative "/visualization/events-timeline?$hour&bucket=minute&event_type=PushEvent&cumulative=true"
star=$(curl -s "http://$HTTP_ADDR/metrics/multiple-events-repos?event_type=WatchEvent&minimal_events_count=1&limit=1&$hour" | sed -n 's/.*"repository_name":"\([^"]*\)".*/\1/p')
shoot events-timeline-star-history "/visualization/events-timeline?$hour&bucket=minute&event_type=WatchEvent&cumulative=true&repository_name=$star"
shoot multiple-events-repos-trending "/visualization/multiple-events-repos?event_type=WatchEvent&minimal_events_count=1&limit=20&$hour"
shoot index "/visualization"
shoot problem "/visualization/events-total-count?offset=abc&repository_name=torvalds/linux"
shoot docs "/docs"
ls -la docs/screenshots
