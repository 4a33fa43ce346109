#!/usr/bin/env bash
# Re-fetches the vendored front-end assets from the npm registry at their
# pinned versions. The files are committed and embedded in the binary: the
# pages ghevents serves load nothing from another host.
set -euo pipefail
cd "$(dirname "$0")/.."
SWAGGER_UI=5.35.0   # keep in step with internal/api/docs.go
ECHARTS=5.6.0       # keep in step with internal/charts/assets.go
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "swagger-ui-dist@$SWAGGER_UI" "echarts@$ECHARTS" >/dev/null)
tar xzf "$tmp/swagger-ui-dist-$SWAGGER_UI.tgz" -C "$tmp"
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE favicon-32x32.png; do
  cp "$tmp/package/$f" internal/api/assets/swagger-ui/
done
rm -rf "$tmp/package"
tar xzf "$tmp/echarts-$ECHARTS.tgz" -C "$tmp"
cp "$tmp/package/dist/echarts.min.js" "$tmp/package/LICENSE" "$tmp/package/NOTICE" internal/charts/assets/echarts/
echo "vendored swagger-ui-dist $SWAGGER_UI and echarts $ECHARTS"
