#!/usr/bin/env bash
# Prints the SHA-256 of a token read from stdin (its first line), as
# eroom-collector's auth.*.token_sha256 expects it. The collector's config
# holds only these digests; the tokens go to agents and eroomctl users.
#
#   openssl rand -hex 32 >agent.token          # a new random token
#   deploy/hash-token.sh <agent.token          # its digest for the collector
set -euo pipefail

token=""
IFS= read -r token || true
if [[ -z $token ]]; then
  echo "usage: $0 <TOKEN_FILE   (reads the token from stdin)" >&2
  exit 2
fi
printf '%s' "$token" | openssl dgst -sha256 -r | cut -d' ' -f1
