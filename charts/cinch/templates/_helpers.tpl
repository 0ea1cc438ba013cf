{{/*
The chart name ("cinch").
*/}}
{{- define "cinch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object name: the release name, with the chart name
appended unless it contains it. Release "cinch" gives cinch-webhook,
cinch-worker, cinch-nats: the names of manifests/base. Kept short (47) so the
longest suffix ("-worker-guard-workloads") fits 63 characters.
*/}}
{{- define "cinch.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version for the helm.sh/chart label.
*/}}
{{- define "cinch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object. Argument: (dict "ctx" $ "component" "webhook"); the
component is optional.
*/}}
{{- define "cinch.labels" -}}
{{- $ctx := .ctx -}}
app.kubernetes.io/name: {{ include "cinch.name" $ctx }}
app.kubernetes.io/part-of: cinch
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "cinch.chart" $ctx }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{/*
Selector labels of a component's pods (Deployments' and StatefulSets'
selectors are immutable: the same as manifests/base, so either can replace
the other). Argument: (dict "ctx" $ "component" "worker").
*/}}
{{- define "cinch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cinch.name" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Cinch's image (webhook and worker).
*/}}
{{- define "cinch.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The optional parts of a pod spec and a container: nothing when unset, so
callers write {{ with include "..." $args }}{{ . | nindent N }}{{ end }}.
imagePullPolicy; argument: (dict "policy" .Values.image.pullPolicy).
*/}}
{{- define "cinch.pullPolicy" -}}
{{- with .policy -}}
imagePullPolicy: {{ . }}
{{- end }}
{{- end }}

{{/*
imagePullSecrets; argument: $.
*/}}
{{- define "cinch.pullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
nodeSelector, tolerations and affinity of a pod spec. Argument: (dict
"values" .Values.worker "affinity" $defaultAffinity).
*/}}
{{- define "cinch.scheduling" -}}
{{- $s := dict }}
{{- with .values.nodeSelector }}{{ $_ := set $s "nodeSelector" . }}{{ end }}
{{- with .values.tolerations }}{{ $_ := set $s "tolerations" . }}{{ end }}
{{- with (default .affinity .values.affinity) }}{{ $_ := set $s "affinity" . }}{{ end }}
{{- if $s }}{{ toYaml $s }}{{ end }}
{{- end }}

{{/*
The pod securityContext of Cinch's pods: the restricted PodSecurity level.
*/}}
{{- define "cinch.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
{{- with .fsGroup }}
fsGroup: {{ . }}
{{- end }}
seccompProfile: {type: RuntimeDefault}
{{- end }}

{{- define "cinch.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end }}

{{/*
Names derived from the fullname.
*/}}
{{- define "cinch.webhookName" -}}{{ include "cinch.fullname" . }}-webhook{{- end }}
{{- define "cinch.workerName" -}}{{ include "cinch.fullname" . }}-worker{{- end }}
{{- define "cinch.natsName" -}}{{ include "cinch.fullname" . }}-nats{{- end }}

{{/*
The NATS client URL of the webhook and the worker.
*/}}
{{- define "cinch.natsURL" -}}
nats://{{ include "cinch.natsName" . }}.{{ .Release.Namespace }}.svc:4222
{{- end }}

{{/*
Replicas of the job stream: nats.streamReplicas, or 3 with three NATS
servers or more, else 1.
*/}}
{{- define "cinch.streamReplicas" -}}
{{- if not (kindIs "invalid" .Values.nats.streamReplicas) }}
{{- .Values.nats.streamReplicas | int }}
{{- else if ge (int .Values.nats.replicas) 3 }}3
{{- else }}1
{{- end }}
{{- end }}

{{/*
The worker's ServiceAccount as the API server names its requests (the
guard policies match it).
*/}}
{{- define "cinch.workerUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "cinch.workerName" . }}
{{- end }}

{{/*
Optional flags: a "- --name=value" line for every (list "name" value) of
the argument whose value is set (not null, not ""), in order.
*/}}
{{- define "cinch.optionalFlags" -}}
{{- range . }}
{{- $v := index . 1 }}
{{- if and (not (kindIs "invalid" $v)) (ne (toString $v) "") }}
{{- if kindIs "float64" $v }}{{ $v = int64 $v }}{{ end }}
- {{ printf "--%s=%v" (index . 0) $v | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
What the validating and the mutating webhook have in common.
*/}}
{{- define "cinch.webhookCommon" -}}
admissionReviewVersions: [v1]
sideEffects: NoneOnDryRun
failurePolicy: Ignore
timeoutSeconds: {{ .Values.webhook.timeoutSeconds }}
matchPolicy: Equivalent
namespaceSelector:
  matchExpressions:
  - {key: cinch.dev/harden, operator: In, values: [enabled, enforce]}
  - {key: kubernetes.io/metadata.name, operator: NotIn, values: [{{ .Release.Namespace }}]}
rules:
- apiGroups: [apps]
  apiVersions: [v1]
  operations: [CREATE, UPDATE]
  resources: [deployments, statefulsets, daemonsets]
  scope: Namespaced
- apiGroups: [batch]
  apiVersions: [v1]
  operations: [CREATE, UPDATE]
  resources: [cronjobs]
  scope: Namespaced
# A Job's pod template cannot change once it exists: only its CREATE matters.
- apiGroups: [batch]
  apiVersions: [v1]
  operations: [CREATE]
  resources: [jobs]
  scope: Namespaced
{{- end }}
