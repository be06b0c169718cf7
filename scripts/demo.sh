#!/usr/bin/env bash
# A local demo of the whole brokered login, with no account anywhere:
#   - Rosetta on the embedded defaults (SQLite, in-process store) at http://localhost:8080,
#   - the test kit's OpenID provider (npm oidc-provider) as "the company's IdP" on :9000,
#   - the test kit's SAML SP (npm @node-saml/node-saml) standing in for Atlassian on :9300.
# Open http://127.0.0.1:9300/login in a browser, log in as ada@acme.example, and the SP
# shows the SAML assertion it validated. Ctrl-C stops everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
demo="${DEMO_DIR:-$root/data-demo}"

e2e/peers/install.sh
cargo build -p rosetta-server --bin rosetta
bin="${CARGO_TARGET_DIR:-$root/target}/debug/rosetta"

rm -rf "$demo" && mkdir -p "$demo"
export ROSETTA_DATA_DIR="$demo" ROSETTA_LISTEN=127.0.0.1:8080 ROSETTA_PUBLIC_URL=http://localhost:8080
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

wait_for() { for _ in $(seq 1 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; echo "$1 did not answer" >&2; exit 1; }

echo "==> the upstream OpenID provider on :9000 (user: ada@acme.example, no password)"
node e2e/peers/op.mjs '{"port":9000,
  "clients":[{"client_id":"rosetta","client_secret":"demo-secret","redirect_uris":["http://acme.localhost:8080/oidc/callback/corp"]}],
  "accounts":[{"sub":"ada","email":"ada@acme.example","email_verified":true,"given_name":"Ada","family_name":"Lovelace","name":"Ada Lovelace"}]}' \
  >/dev/null 2>"$demo/op.log" &
pids+=($!)
wait_for http://127.0.0.1:9000/.well-known/openid-configuration

echo "==> tenant, identity source and service provider, with the operator CLI"
"$bin" tenant create acme --name "Acme Corp"
printf demo-secret > "$demo/client-secret"
"$bin" source add acme --name corp --issuer http://127.0.0.1:9000 --client-id rosetta \
  --client-secret-file "$demo/client-secret" --domains acme.example
cert=$("$bin" tenant show acme --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["idp"]["certificates"][0]["pem"])')
sp_config=$(CERT="$cert" python3 -c 'import json,os; print(json.dumps({"port": 9300,
  "issuer": "https://jira.example/saml", "callback_url": "http://127.0.0.1:9300/acs",
  "entry_point": "http://acme.localhost:8080/saml/sso", "idp_cert": os.environ["CERT"],
  "identifier_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"}))')
node e2e/peers/sp.mjs "$sp_config" >/dev/null 2>"$demo/sp.log" &
pids+=($!)
wait_for http://127.0.0.1:9300/metadata
"$bin" sp add acme --name jira --preset atlassian --entity-id https://jira.example/saml \
  --acs-url http://127.0.0.1:9300/acs

echo "==> Rosetta on http://localhost:8080 (tenant acme: http://acme.localhost:8080)"
"$bin" serve &
pids+=($!)
wait_for http://127.0.0.1:8080/healthz
cat <<MSG

Ready. In a browser on this machine open:

    http://127.0.0.1:9300/login

(the stand-in for Atlassian). It sends you to Rosetta, Rosetta to the OpenID provider:
type "ada" and continue. You land back at the SP, which shows the assertion it validated.
Logs: $demo/*.log. Press Ctrl-C to stop.
MSG
wait
