{{/*
Helpers. The chart keeps to a small subset of Helm and sprig functions (include, toYaml, nindent,
indent, quote, default, required, printf, trunc, trimSuffix, contains, upper, lower, dict, list,
keys, sortAlpha, index, hasKey, empty, b64enc, sha256sum, eq/ne/and/or/not) so that it can be
rendered and validated in CI without helm (tests/chart).
*/}}

{{/* The chart name. */}}
{{- define "xieshang.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name: the prefix of every resource name. Truncated to 50 characters so that a
component suffix ("-consultation") still fits the 63-character DNS label limit.
*/}}
{{- define "xieshang.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "xieshang.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of a component's resources. Takes (dict "ctx" $ "component" "tenants"). */}}
{{- define "xieshang.componentName" -}}
{{- printf "%s-%s" (include "xieshang.fullname" .ctx) .component }}
{{- end }}

{{/* Selector labels. Takes (dict "ctx" $ "component" "tenants"). */}}
{{- define "xieshang.selectorLabels" -}}
app.kubernetes.io/name: {{ include "xieshang.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Common labels. Takes (dict "ctx" $ "component" "tenants"). */}}
{{- define "xieshang.labels" -}}
helm.sh/chart: {{ include "xieshang.chart" .ctx }}
{{ include "xieshang.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: xieshang
{{- end }}

{{/* The image of the service pods and the migrations Job. */}}
{{- define "xieshang.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The image of the operator. */}}
{{- define "xieshang.operatorImage" -}}
{{- $repository := .Values.operator.image.repository | default .Values.image.repository }}
{{- $tag := .Values.operator.image.tag | default .Values.image.tag | default .Chart.AppVersion }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}

{{/* The ServiceAccount of the service pods. */}}
{{- define "xieshang.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "xieshang.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* The ServiceAccount of the operator. */}}
{{- define "xieshang.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- .Values.operator.serviceAccount.name | default (include "xieshang.componentName" (dict "ctx" . "component" "operator")) }}
{{- else }}
{{- .Values.operator.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* The name of the development-only Secret. */}}
{{- define "xieshang.devSecretName" -}}
{{- printf "%s-dev" (include "xieshang.fullname" .) }}
{{- end }}

{{/*
An env entry from a Secret. Takes (dict "ctx" $ "env" "XIESHANG__DATABASE__URL" "ref"
.Values.secrets.database "devKey" "databaseUrl" "what" "secrets.database.existingSecret").
With secrets.create the development Secret is used instead of the reference.
*/}}
{{- define "xieshang.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      {{- if .ctx.Values.secrets.create }}
      name: {{ include "xieshang.devSecretName" .ctx }}
      key: {{ .devKey }}
      {{- else }}
      name: {{ required (printf "%s is required" .what) .ref.existingSecret }}
      key: {{ required (printf "the key of %s is required" .what) .ref.key }}
      {{- end }}
{{- end }}

{{/* Is a Secret reference (or the development Secret) configured? Renders "true" or "". */}}
{{- define "xieshang.hasSecret" -}}
{{- if or .ctx.Values.secrets.create .ref.existingSecret }}true{{ end }}
{{- end }}

{{/* The gRPC address of a component. Takes (dict "ctx" $ "component" "tenants"). */}}
{{- define "xieshang.grpcUrl" -}}
{{- if eq .ctx.Values.mode "embedded" }}
{{- printf "http://%s:%v" (include "xieshang.fullname" .ctx) .ctx.Values.grpc.port }}
{{- else }}
{{- printf "http://%s:%v" (include "xieshang.componentName" .) .ctx.Values.grpc.port }}
{{- end }}
{{- end }}

{{/* Fails on a mode the chart does not know. */}}
{{- define "xieshang.checkMode" -}}
{{- if not (or (eq .Values.mode "distributed") (eq .Values.mode "embedded")) }}
{{- fail (printf "mode must be distributed or embedded, not %s" .Values.mode) }}
{{- end }}
{{- end }}

{{/*
The environment shared by every service container: secrets (database, Redis, keys, bootstrap
password) and the extra variables. The rest of the configuration comes from the ConfigMap.
*/}}
{{- define "xieshang.serviceEnv" -}}
{{- $ctx := . }}
{{- $s := .Values.secrets }}
{{- if eq .Values.mode "distributed" }}
{{ include "xieshang.secretEnv" (dict "ctx" $ctx "env" "XIESHANG__DATABASE__URL" "ref" $s.database "devKey" "databaseUrl" "what" "secrets.database.existingSecret") }}
{{ include "xieshang.secretEnv" (dict "ctx" $ctx "env" "XIESHANG__REDIS__URL" "ref" $s.redis "devKey" "redisUrl" "what" "secrets.redis.existingSecret") }}
{{ include "xieshang.secretEnv" (dict "ctx" $ctx "env" "XIESHANG__AUTH__SIGNING_KEY" "ref" $s.signingKey "devKey" "signingKey" "what" "secrets.signingKey.existingSecret") }}
{{ include "xieshang.secretEnv" (dict "ctx" $ctx "env" "XIESHANG__PII__KEY" "ref" $s.piiKey "devKey" "piiKey" "what" "secrets.piiKey.existingSecret") }}
{{- else }}
{{- if include "xieshang.hasSecret" (dict "ctx" $ctx "ref" $s.signingKey) }}
{{ include "xieshang.secretEnv" (dict "ctx" $ctx "env" "XIESHANG__AUTH__SIGNING_KEY" "ref" $s.signingKey "devKey" "signingKey" "what" "secrets.signingKey.existingSecret") }}
{{- end }}
{{- if include "xieshang.hasSecret" (dict "ctx" $ctx "ref" $s.piiKey) }}
{{ include "xieshang.secretEnv" (dict "ctx" $ctx "env" "XIESHANG__PII__KEY" "ref" $s.piiKey "devKey" "piiKey" "what" "secrets.piiKey.existingSecret") }}
{{- end }}
{{- end }}
{{- if include "xieshang.hasSecret" (dict "ctx" $ctx "ref" $s.bootstrapPassword) }}
{{ include "xieshang.secretEnv" (dict "ctx" $ctx "env" "XIESHANG__BOOTSTRAP__PASSWORD" "ref" $s.bootstrapPassword "devKey" "bootstrapPassword" "what" "secrets.bootstrapPassword.existingSecret") }}
{{- end }}
{{- with .Values.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* XIESHANG__PEERS__<SERVICE> for every enabled service. */}}
{{- define "xieshang.peersEnv" -}}
{{- $ctx := . }}
{{- range $name := keys .Values.services | sortAlpha }}
{{- if (index $ctx.Values.services $name).enabled }}
- name: XIESHANG__PEERS__{{ upper $name }}
  value: {{ include "xieshang.grpcUrl" (dict "ctx" $ctx "component" $name) | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The ConfigMap's data, also hashed into the pods' checksum/config annotation. */}}
{{- define "xieshang.configData" -}}
XIESHANG__LISTEN: {{ printf "0.0.0.0:%v" .Values.grpc.port | quote }}
XIESHANG__DATA_DIR: "/var/lib/xieshang"
XIESHANG__LOG__FORMAT: {{ .Values.config.log.format | quote }}
XIESHANG__LOG__FILTER: {{ .Values.config.log.filter | quote }}
XIESHANG__DATABASE__AUTO_MIGRATE: {{ eq .Values.mode "embedded" | toString | quote }}
XIESHANG__DATABASE__MAX_CONNECTIONS: {{ .Values.config.database.maxConnections | toString | quote }}
{{- if .Values.metrics.enabled }}
XIESHANG__METRICS__LISTEN: {{ printf "0.0.0.0:%v" .Values.metrics.port | quote }}
{{- end }}
{{- with .Values.config.otlp.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- with .Values.config.bootstrap.username }}
XIESHANG__BOOTSTRAP__USERNAME: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
The container ports, probes, security context and volume mounts of a service container.
Takes (dict "ctx" $ "resources" <resources>).
*/}}
{{- define "xieshang.serviceContainerCommon" -}}
image: {{ include "xieshang.image" .ctx | quote }}
imagePullPolicy: {{ .ctx.Values.image.pullPolicy }}
args:
  - serve
ports:
  - name: grpc
    containerPort: {{ .ctx.Values.grpc.port }}
    protocol: TCP
  {{- if .ctx.Values.metrics.enabled }}
  - name: metrics
    containerPort: {{ .ctx.Values.metrics.port }}
    protocol: TCP
  {{- end }}
startupProbe:
  grpc:
    port: {{ .ctx.Values.grpc.port }}
  periodSeconds: {{ .ctx.Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .ctx.Values.probes.startup.failureThreshold }}
livenessProbe:
  grpc:
    port: {{ .ctx.Values.grpc.port }}
  periodSeconds: {{ .ctx.Values.probes.liveness.periodSeconds }}
  timeoutSeconds: {{ .ctx.Values.probes.liveness.timeoutSeconds }}
  failureThreshold: {{ .ctx.Values.probes.liveness.failureThreshold }}
readinessProbe:
  grpc:
    port: {{ .ctx.Values.grpc.port }}
  periodSeconds: {{ .ctx.Values.probes.readiness.periodSeconds }}
  timeoutSeconds: {{ .ctx.Values.probes.readiness.timeoutSeconds }}
  failureThreshold: {{ .ctx.Values.probes.readiness.failureThreshold }}
securityContext:
  {{- toYaml .ctx.Values.securityContext | nindent 2 }}
resources:
  {{- toYaml .resources | nindent 2 }}
{{- end }}

{{/* Pod-level settings shared by the service pods. */}}
{{- define "xieshang.podCommon" -}}
serviceAccountName: {{ include "xieshang.serviceAccountName" . }}
automountServiceAccountToken: false
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
