{{/*
Chart name, truncated to the 63 characters a DNS label allows.
*/}}
{{- define "opamp-commander.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: release name + chart name, unless the release name already holds it.
*/}}
{{- define "opamp-commander.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "opamp-commander.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every resource.
*/}}
{{- define "opamp-commander.labels" -}}
helm.sh/chart: {{ include "opamp-commander.chart" . }}
{{ include "opamp-commander.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: opamp-commander
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels of the server's pods. Never change these: Deployment selectors are immutable.
*/}}
{{- define "opamp-commander.selectorLabels" -}}
app.kubernetes.io/name: {{ include "opamp-commander.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/*
Names of the chart's objects.
*/}}
{{- define "opamp-commander.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "opamp-commander.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "opamp-commander.apiServiceName" -}}
{{- include "opamp-commander.fullname" . }}
{{- end }}

{{- define "opamp-commander.opampServiceName" -}}
{{- printf "%s-opamp" (include "opamp-commander.fullname" . | trunc 57 | trimSuffix "-") }}
{{- end }}

{{- define "opamp-commander.grpcServiceName" -}}
{{- printf "%s-grpc" (include "opamp-commander.fullname" . | trunc 58 | trimSuffix "-") }}
{{- end }}

{{- define "opamp-commander.configMapName" -}}
{{- include "opamp-commander.fullname" . }}
{{- end }}

{{/*
The Secret holding JWT_SECRET and ADMIN_PASSWORD (and an external MONGODB_URI): the
user's existingSecret, else the one this chart renders.
*/}}
{{- define "opamp-commander.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "opamp-commander.fullname" . }}
{{- end }}
{{- end }}

{{- define "opamp-commander.mongodbName" -}}
{{- printf "%s-mongodb" (include "opamp-commander.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{- define "opamp-commander.mongodbSelectorLabels" -}}
app.kubernetes.io/name: {{ include "opamp-commander.name" . }}-mongodb
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: database
{{- end }}

{{- define "opamp-commander.mongodbLabels" -}}
helm.sh/chart: {{ include "opamp-commander.chart" . }}
{{ include "opamp-commander.mongodbSelectorLabels" . }}
app.kubernetes.io/version: {{ .Values.mongodb.embedded.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: opamp-commander
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Where MONGODB_URI comes from, as {name, key}; empty when no database is configured.
Embedded MongoDB wins, then existingSecret, then mongodb.uri in the chart's Secret.
*/}}
{{- define "opamp-commander.mongodbUriRef" -}}
{{- if .Values.mongodb.embedded.enabled }}
name: {{ include "opamp-commander.mongodbName" . }}
key: mongodb-uri
{{- else if .Values.secrets.existingSecret }}
name: {{ .Values.secrets.existingSecret }}
key: {{ .Values.secrets.keys.mongodbUri }}
{{- else if .Values.mongodb.uri }}
name: {{ include "opamp-commander.fullname" . }}
key: {{ .Values.secrets.keys.mongodbUri }}
{{- end }}
{{- end }}

{{/*
The server image reference: repository@digest, else repository:tag (tag defaults to appVersion).
*/}}
{{- define "opamp-commander.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "opamp-commander.testImage" -}}
{{- if .Values.tests.image.repository }}
{{- printf "%s:%s" .Values.tests.image.repository (default "latest" .Values.tests.image.tag) }}
{{- else }}
{{- include "opamp-commander.image" . }}
{{- end }}
{{- end }}

{{/*
HTTP or HTTPS, for probes and the test pod: the server speaks TLS itself when tls.enabled.
*/}}
{{- define "opamp-commander.scheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/*
Seconds Kubernetes waits for a stopping pod: the value given, else preStop + drain + margin.
*/}}
{{- define "opamp-commander.terminationGracePeriodSeconds" -}}
{{- $grace := 10 }}
{{- if not (kindIs "invalid" .Values.config.shutdownGraceSeconds) }}
{{- $grace = int .Values.config.shutdownGraceSeconds }}
{{- end }}
{{- $needed := add (int .Values.lifecycle.preStopSleepSeconds) $grace }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $needed 15 }}
{{- else }}
{{- if lt (int .Values.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be at least lifecycle.preStopSleepSeconds + config.shutdownGraceSeconds (%v), or the server is killed while agents are still draining" .Values.terminationGracePeriodSeconds $needed) }}
{{- end }}
{{- .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/*
Whether any database is configured for the server.
*/}}
{{- define "opamp-commander.hasDatabase" -}}
{{- if or .Values.mongodb.embedded.enabled .Values.secrets.existingSecret .Values.mongodb.uri }}true{{ end }}
{{- end }}

{{- define "opamp-commander.natsName" -}}
{{- printf "%s-nats" (include "opamp-commander.fullname" . | trunc 58 | trimSuffix "-") }}
{{- end }}

{{- define "opamp-commander.natsSelectorLabels" -}}
app.kubernetes.io/name: {{ include "opamp-commander.name" . }}-nats
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: event-bus
{{- end }}

{{- define "opamp-commander.natsLabels" -}}
helm.sh/chart: {{ include "opamp-commander.chart" . }}
{{ include "opamp-commander.natsSelectorLabels" . }}
app.kubernetes.io/version: {{ .Values.nats.embedded.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: opamp-commander
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
NATS_URL of the embedded NATS (no credentials in it: it is not a secret).
*/}}
{{- define "opamp-commander.natsEmbeddedUrl" -}}
{{- printf "nats://%s.%s.svc:%d" (include "opamp-commander.natsName" .) .Release.Namespace (int .Values.nats.embedded.port) }}
{{- end }}

{{/*
Where NATS_URL comes from, as {name, key} of a Secret; empty when it is a plain value (embedded
NATS) or there is no bus. Embedded NATS wins, then existingSecret, then nats.url in the chart's
Secret. nats.url cannot go with existingSecret (the chart renders no Secret to hold it).
*/}}
{{- define "opamp-commander.natsUrlRef" -}}
{{- if not .Values.nats.embedded.enabled }}
{{- if and .Values.nats.url .Values.secrets.existingSecret }}
{{- fail (printf "nats.url cannot be used with secrets.existingSecret (the chart then renders no Secret to keep it in): put NATS_URL into Secret %s under key %s and set nats.urlFromExistingSecret=true" .Values.secrets.existingSecret .Values.secrets.keys.natsUrl) }}
{{- end }}
{{- if .Values.nats.urlFromExistingSecret }}
name: {{ required "nats.urlFromExistingSecret needs secrets.existingSecret" .Values.secrets.existingSecret }}
key: {{ .Values.secrets.keys.natsUrl }}
{{- else if .Values.nats.url }}
name: {{ include "opamp-commander.fullname" . }}
key: {{ .Values.secrets.keys.natsUrl }}
{{- end }}
{{- end }}
{{- end }}

{{/*
nats-server.conf of the embedded NATS: client and monitoring ports and the payload limit.
*/}}
{{- define "opamp-commander.natsConfig" -}}
{{- $n := .Values.nats.embedded -}}
port: {{ $n.port }}
http_port: {{ $n.monitorPort }}
max_payload: {{ int64 $n.maxPayload }}
{{- end }}
