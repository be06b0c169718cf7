{{/* Name of the chart, overridable. */}}
{{- define "rosetta.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already contains the chart name. */}}
{{- define "rosetta.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rosetta.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rosetta.labels" -}}
helm.sh/chart: {{ include "rosetta.chart" . }}
app.kubernetes.io/name: {{ include "rosetta.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector of the server pods (the migration Job's pods carry another component). */}}
{{- define "rosetta.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rosetta.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "rosetta.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rosetta.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "rosetta.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}

{{/* The public URL, checked. */}}
{{- define "rosetta.publicUrl" -}}
{{- $url := required "publicUrl is required: the bare https origin of the console, e.g. --set publicUrl=https://rosetta.example.com" .Values.publicUrl }}
{{- if not (regexMatch "^https?://[^/]+$" $url) }}
{{- fail (printf "publicUrl must be a bare origin like https://rosetta.example.com (no path, no trailing slash), got %q" $url) }}
{{- end }}
{{- $url }}
{{- end }}

{{/* Host of the public URL (no scheme, no port): the ingress's base host. */}}
{{- define "rosetta.host" -}}
{{- $noScheme := regexReplaceAll "^https?://" (include "rosetta.publicUrl" .) "" }}
{{- regexReplaceAll ":[0-9]+$" $noScheme "" }}
{{- end }}

{{/* Name of the Secret holding the secret settings. */}}
{{- define "rosetta.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "rosetta.fullname" . }}
{{- end }}
{{- end }}

{{/*
Non-secret settings as a flat map of environment variables: the ConfigMap's data, and
the migration Job's env (a pre-install hook runs before the ConfigMap exists).
*/}}
{{- define "rosetta.configData" -}}
ROSETTA_PUBLIC_URL: {{ include "rosetta.publicUrl" . | quote }}
ROSETTA_LISTEN: "0.0.0.0:8080"
ROSETTA_DATA_DIR: "/var/lib/rosetta"
ROSETTA_CONSOLE_DIR: "/usr/share/rosetta/console"
ROSETTA_CLUSTERED: "true"
ROSETTA_METRICS_LISTEN: "0.0.0.0:9090"
ROSETTA_STORE_PREFIX: {{ .Values.config.storePrefix | quote }}
ROSETTA_DATABASE_MAX_CONNECTIONS: {{ .Values.config.databaseMaxConnections | toString | quote }}
ROSETTA_WORKERS: {{ .Values.config.workers | toString | quote }}
ROSETTA_LOG_FORMAT: {{ .Values.config.logFormat | quote }}
RUST_LOG: {{ .Values.config.logLevel | quote }}
{{- with .Values.config.mailFrom }}
ROSETTA_MAIL_FROM: {{ . | quote }}
{{- end }}
{{- with .Values.config.trustedProxies }}
ROSETTA_TRUSTED_PROXIES: {{ join "," . | quote }}
{{- end }}
{{- end }}

{{/*
Secret settings as env entries. $secretName lets the migration hook use its own copy.
Usage: include "rosetta.secretEnv" (dict "ctx" . "secretName" "...")
*/}}
{{- define "rosetta.secretEnv" -}}
{{- $ctx := .ctx }}
{{- $keys := $ctx.Values.secrets.keys }}
{{- $smtpOptional := true }}
{{- if not $ctx.Values.secrets.existingSecret }}
{{- $smtpOptional = false }}
{{- end }}
- name: ROSETTA_MASTER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $keys.masterKey }}
- name: ROSETTA_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $keys.databaseUrl }}
- name: ROSETTA_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $keys.redisUrl }}
{{- if or $ctx.Values.secrets.existingSecret $ctx.Values.secrets.smtpUrl }}
- name: ROSETTA_SMTP_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $keys.smtpUrl }}
      optional: {{ $smtpOptional }}
{{- end }}
{{- end }}

{{/* Data of the chart-made Secret; fails with a clear message when a value is missing. */}}
{{- define "rosetta.secretData" -}}
{{- $s := .Values.secrets }}
{{- $mk := required "secrets.masterKey is required (base64 of 32 bytes: openssl rand -base64 32), or set secrets.existingSecret. It must stay the same across upgrades and replicas, so the chart does not generate it." $s.masterKey }}
{{- if not (regexMatch "^[A-Za-z0-9+/]{43}=$" $mk) }}
{{- fail "secrets.masterKey must be the base64 of exactly 32 bytes (44 characters ending in '='): openssl rand -base64 32" }}
{{- end }}
{{ $s.keys.masterKey }}: {{ $mk | b64enc | quote }}
{{ $s.keys.databaseUrl }}: {{ required "secrets.databaseUrl is required (postgres://user:password@host:5432/rosetta?sslmode=require), or set secrets.existingSecret" $s.databaseUrl | b64enc | quote }}
{{ $s.keys.redisUrl }}: {{ required "secrets.redisUrl is required (redis://... or rediss://...), or set secrets.existingSecret" $s.redisUrl | b64enc | quote }}
{{- with $s.smtpUrl }}
{{ $s.keys.smtpUrl }}: {{ . | b64enc | quote }}
{{- end }}
{{- end }}

{{/* Number of replicas that at least run (for the PodDisruptionBudget). */}}
{{- define "rosetta.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}
{{- .Values.autoscaling.minReplicas }}
{{- else }}
{{- .Values.replicaCount }}
{{- end }}
{{- end }}
