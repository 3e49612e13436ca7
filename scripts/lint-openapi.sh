#!/usr/bin/env bash
# Lints the OpenAPI document with Redocly CLI's recommended rules: errors
# fail, warnings are listed. CI installs the linter (.ci/run); by hand:
#   npm install -g @redocly/cli@2.77.0
set -euo pipefail
cd "$(dirname "$0")/.."
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  redocly lint --format=stylish api/openapi.json
