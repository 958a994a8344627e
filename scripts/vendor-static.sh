#!/usr/bin/env bash
# Refresh static/vendor/ from the npm registry (versions pinned in package.json).
# The vendored files are committed: running the app or the tests never needs npm or a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
npm install --no-audit --no-fund --ignore-scripts >/dev/null
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
cp node_modules/sortablejs/Sortable.min.js static/vendor/Sortable.min.js
cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/chart.umd.min.js
cp node_modules/@picocss/pico/css/pico.min.css static/vendor/pico.min.css
# The packages' source maps are not vendored: drop the references to them, or collectstatic's
# manifest storage fails looking for the .map files.
sed -i -E 's@//# sourceMappingURL=[^ ]*$@@; s@/\*# sourceMappingURL=[^*]*\*/@@' static/vendor/*.js static/vendor/*.css
for package in htmx.org sortablejs chart.js @picocss/pico; do
  license=$(ls node_modules/$package/LICENSE* 2>/dev/null | head -n 1 || true)
  [ -n "$license" ] && cp "$license" "static/vendor/LICENSE.$(basename "$package")"
done
echo "vendored into static/vendor/:"; ls -l static/vendor
