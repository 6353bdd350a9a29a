{{/* Chart name. */}}
{{- define "lhcms.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name (release-based, max 63 chars). */}}
{{- define "lhcms.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "lhcms.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels common to every object. */}}
{{- define "lhcms.labels" -}}
helm.sh/chart: {{ include "lhcms.chart" . }}
app.kubernetes.io/name: {{ include "lhcms.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lhcms
{{- end -}}

{{/* Selector of the API pods (the migration Job and test pods have another component). */}}
{{- define "lhcms.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lhcms.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: api
{{- end -}}

{{- define "lhcms.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "lhcms.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag or repository@digest. */}}
{{- define "lhcms.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret the API reads: the existing one, or the chart's. */}}
{{- define "lhcms.secretName" -}}
{{- default (include "lhcms.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The Secret the migration Job reads: the existing one, or the chart's hook copy (it exists before the Job). */}}
{{- define "lhcms.migrationSecretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-migrate" (include "lhcms.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Environment variable <- secret value field; required ones are never optional. */}}
{{- define "lhcms.secretVars" -}}
DATABASE_URL: databaseUrl
DATABASE_OWNER_URL: databaseOwnerUrl
DATABASE_REPLICA_URLS: databaseReplicaUrls
SECRET_KEY: secretKey
JWT_SECRET_KEY: jwtSecretKey
REDIS_URL: redisUrl
UMS_API_KEY: umsApiKey
METRICS_TOKEN: metricsToken
ENCRYPTION_LOCAL_KEK: encryptionLocalKek
ENCRYPTION_LOCAL_KEKS_RETIRED: encryptionLocalKeksRetired
{{- end -}}

{{/* env entries reading the secrets. Call with (dict "ctx" $ "secret" NAME). */}}
{{- define "lhcms.secretEnv" -}}
{{- $ctx := .ctx -}}
{{- $vars := include "lhcms.secretVars" $ctx | fromYaml -}}
{{- range $env := keys $vars | sortAlpha }}
{{- $field := index $vars $env }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $.secret }}
      key: {{ index $ctx.Values.secrets.keys $field }}
      {{- if not (has $field (list "databaseUrl" "secretKey")) }}
      optional: true
      {{- end }}
{{- end }}
{{- end -}}

{{/* The non-secret configuration as env entries (the migration Job runs before the ConfigMap exists). */}}
{{- define "lhcms.configEnv" -}}
{{- range $k := keys .Values.config | sortAlpha }}
- name: {{ $k }}
  value: {{ index $.Values.config $k | toString | quote }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by the API, the migration Job and the test pod. */}}
{{- define "lhcms.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* The attachment store's Secret (S3 credentials): the given one, the chart's, or none. */}}
{{- define "lhcms.attachmentsSecret" -}}
{{- $s3 := .Values.attachments.s3 -}}
{{- if $s3.existingSecret -}}{{ $s3.existingSecret }}
{{- else if $s3.accessKeyId -}}{{ include "lhcms.fullname" . }}-s3
{{- end -}}
{{- end }}

{{/* Environment of the attachment store (API pods and maintenance jobs). */}}
{{- define "lhcms.attachmentsEnv" -}}
{{- $a := .Values.attachments -}}
- name: ATTACHMENT_STORE
  value: {{ $a.store | quote }}
{{- if eq $a.store "s3" }}
{{- $_ := required "attachments.s3.bucket is required with attachments.store=s3" $a.s3.bucket }}
- name: S3_BUCKET
  value: {{ $a.s3.bucket | quote }}
- name: S3_REGION
  value: {{ $a.s3.region | quote }}
- name: S3_FORCE_PATH_STYLE
  value: {{ $a.s3.forcePathStyle | quote }}
{{- with $a.s3.endpoint }}
- name: S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with include "lhcms.attachmentsSecret" . }}
- name: S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: access-key-id
- name: S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: secret-access-key
{{- end }}
{{- else }}
- name: ATTACHMENT_DIR
  value: {{ $a.mountPath | quote }}
{{- end }}
{{- end }}

{{/* The filesystem store's volume (none for S3). */}}
{{- define "lhcms.attachmentsVolume" -}}
{{- if eq .Values.attachments.store "filesystem" }}
- name: attachments
  {{- if .Values.attachments.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.attachments.existingClaim }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
{{- end }}

{{- define "lhcms.attachmentsMount" -}}
{{- if eq .Values.attachments.store "filesystem" }}
- name: attachments
  mountPath: {{ .Values.attachments.mountPath }}
{{- end }}
{{- end }}
