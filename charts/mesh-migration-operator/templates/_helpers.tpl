{{/* The chart's name, for app.kubernetes.io/name. */}}
{{- define "mmo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Every object's name prefix: the release's name when it already names the chart (a release called
mesh-migration-operator gets exactly deploy/'s names), else "<release>-<chart>".
*/}}
{{- define "mmo.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "mmo.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* What selects the operator's pods: one release's, never another's. */}}
{{- define "mmo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mmo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
The labels of every object: deploy/'s (name, part-of), Helm's, and .Values.labels (which cannot
replace the chart's own: the selectors depend on them).
*/}}
{{- define "mmo.labels" -}}
{{- $own := dict
  "app.kubernetes.io/name" (include "mmo.name" .)
  "app.kubernetes.io/instance" .Release.Name
  "app.kubernetes.io/part-of" "mesh-migration-operator"
  "app.kubernetes.io/version" .Chart.AppVersion
  "app.kubernetes.io/managed-by" .Release.Service
  "helm.sh/chart" (printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_") -}}
{{- toYaml (merge $own .Values.labels) -}}
{{- end -}}

{{/* metadata.labels and, when there are any, metadata.annotations of every object. */}}
{{- define "mmo.metadata" -}}
labels:
  {{- include "mmo.labels" . | nindent 2 }}
{{- with .Values.annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "mmo.serviceAccountName" -}}
{{- default (include "mmo.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* How the apiserver names the operator's requests: what the write limits match. */}}
{{- define "mmo.username" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "mmo.serviceAccountName" .) -}}
{{- end -}}

{{/* The Lease: --leader-election-id, or the operator's default. */}}
{{- define "mmo.leaseName" -}}
{{- default "mesh-migration-operator" .Values.leaderElection.id -}}
{{- end -}}

{{/* The ServiceAccount as an RBAC subject. */}}
{{- define "mmo.subjects" -}}
subjects:
  - kind: ServiceAccount
    name: {{ include "mmo.serviceAccountName" . }}
    namespace: {{ .Release.Namespace }}
{{- end -}}

{{- define "mmo.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}
