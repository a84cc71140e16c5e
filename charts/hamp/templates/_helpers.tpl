{{/*
Names, labels and the pieces every workload shares. The seven services, the gateway, the registry and
the two Jobs are built from these, so a rule (a securityContext, a probe, a Secret reference) is written once.
*/}}

{{- define "hamp.fullname" -}}
{{- if contains "hamp" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-hamp" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A component's object name: <fullname>-<component>. Argument: (dict "root" $ "name" "oms"). */}}
{{- define "hamp.componentName" -}}
{{- printf "%s-%s" (include "hamp.fullname" .root) .name -}}
{{- end -}}

{{- define "hamp.selectorLabels" -}}
app.kubernetes.io/name: hamp
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "hamp.labels" -}}
{{ include "hamp.selectorLabels" . }}
app.kubernetes.io/part-of: hamp
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "hamp.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The seven services' names, sorted, for NetworkPolicies and the Jobs. */}}
{{- define "hamp.serviceNames" -}}
{{- keys .Values.components | sortAlpha | join "," -}}
{{- end -}}

{{/* One service's values: serviceDefaults overlaid with its own entry. Argument: (dict "root" $ "name" "oms"). */}}
{{- define "hamp.service" -}}
{{- $own := index .root.Values.components .name -}}
{{- mergeOverwrite (deepCopy .root.Values.serviceDefaults) (deepCopy $own) | toYaml -}}
{{- end -}}

{{/* Registry peers, as every component's registry_urls (the headless Service gives each a stable name). */}}
{{- define "hamp.registryUrls" -}}
{{- $name := include "hamp.componentName" (dict "root" . "name" "registry") -}}
{{- $urls := list -}}
{{- range $i := until (int .Values.registry.replicas) -}}
{{- $urls = append $urls (printf "http://%s-%d.%s.%s.svc:%d/eureka/" $name $i $name $.Release.Namespace (int $.Values.registry.port)) -}}
{{- end -}}
{{- join "," $urls -}}
{{- end -}}

{{/*
The non-secret settings every pod reads (the ConfigMap's data; the hook Jobs, which run before the
ConfigMap exists on a first install, get the same as env). Component-only settings carry the
HAMP_<COMPONENT>_ prefix, which only that component reads.
*/}}
{{- define "hamp.configData" -}}
{{- $v := .Values -}}
{{- $gateway := include "hamp.componentName" (dict "root" . "name" "gateway") -}}
HAMP_HOST: "0.0.0.0"
HAMP_VAR_DIR: /var/lib/hamp
HAMP_LOG_TO_FILE: "false"
HAMP_LOG_TO_STDOUT: "true"
HAMP_LOG_LEVEL: {{ $v.logs.level | quote }}
HAMP_MIGRATE_ON_START: "false"
HAMP_REGISTRY_URLS: {{ include "hamp.registryUrls" . | quote }}
{{- if gt (int $v.registry.replicas) 1 }}
HAMP_REGISTRY_PEER_URLS: {{ include "hamp.registryUrls" . | quote }}
{{- end }}
HAMP_REGISTRY_PORT: {{ $v.registry.port | quote }}
HAMP_JWKS_URL: {{ printf "http://%s.%s.svc:%d/api/auth/jwks" $gateway .Release.Namespace (int $v.gateway.port) | quote }}
HAMP_GATEWAY_PORT: {{ $v.gateway.port | quote }}
HAMP_GATEWAY_TRUSTED_NETWORKS: {{ concat $v.network.trustedNetworks $v.network.podCIDRs | uniq | toJson | quote }}
HAMP_GATEWAY_TRUSTED_PROXIES: {{ (ternary $v.ingress.controllerCIDRs (list) $v.ingress.enabled) | toJson | quote }}
{{- if $v.redis.sentinels }}
HAMP_REDIS_SENTINELS: {{ join "," $v.redis.sentinels | quote }}
HAMP_REDIS_MASTER_NAME: {{ $v.redis.masterName | quote }}
{{- end }}
{{- with $v.keys.fieldEncryptionCurrentKey }}
HAMP_FIELD_ENCRYPTION_CURRENT_KEY: {{ . | quote }}
{{- end }}
{{- if $v.logs.elasticsearch.url }}
HAMP_LOG_ELASTICSEARCH_URL: {{ $v.logs.elasticsearch.url | quote }}
HAMP_LOG_ELASTICSEARCH_INDEX: {{ $v.logs.elasticsearch.index | quote }}
{{- end }}
{{- range $name, $value := $v.settings }}
{{ printf "HAMP_%s" (upper $name) }}: {{ $value | toString | quote }}
{{- end }}
{{- range $name, $value := $v.registry.settings }}
{{ printf "HAMP_REGISTRY_%s" (upper $name) }}: {{ $value | toString | quote }}
{{- end }}
{{- range $name, $value := $v.gateway.settings }}
{{ printf "HAMP_GATEWAY_%s" (upper $name) }}: {{ $value | toString | quote }}
{{- end }}
{{- range $component := keys $v.components | sortAlpha }}
{{- $c := index $v.components $component }}
{{ printf "HAMP_%s_PORT" (upper $component) }}: {{ $c.port | quote }}
{{- range $name, $value := ($c.settings | default dict) }}
{{ printf "HAMP_%s_%s" (upper $component) (upper $name) }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "hamp.secretRef" -}}
valueFrom:
  secretKeyRef:
    name: {{ .name }}
    key: {{ .key }}
    {{- if .optional }}
    optional: true
    {{- end }}
{{- end -}}

{{/*
A component's database: the password from the Secret first, then the URLs built on it (Kubernetes
expands $(DATABASE_PASSWORD) inside the pod; the password never reaches the ConfigMap or the manifest).
Argument: (dict "root" $ "name" "oms" "database" "<name or empty>").
*/}}
{{- define "hamp.databaseEnv" -}}
{{- $db := .root.Values.database -}}
{{- $database := .database | default (printf "%s%s" $db.databasePrefix .name) -}}
{{- $prefix := printf "HAMP_%s_" (upper .name) -}}
- name: {{ $prefix }}DATABASE_URL
  value: {{ printf "%s://%s:$(DATABASE_PASSWORD)@%s:%d/%s" $db.driver $db.user $db.host (int $db.port) $database | quote }}
{{- if $db.replicas }}
{{- $replicas := list }}
{{- range $db.replicas }}
{{- $replicas = append $replicas (printf "%s://%s:$(DATABASE_PASSWORD)@%s:%d/%s" $db.driver $db.user .host (int (.port | default 3306)) $database) }}
{{- end }}
- name: {{ $prefix }}DATABASE_REPLICA_URLS
  value: {{ toJson $replicas | quote }}
{{- end }}
{{- end -}}

{{- define "hamp.databasePasswordEnv" -}}
- name: DATABASE_PASSWORD
  {{- include "hamp.secretRef" .Values.database.passwordSecret | nindent 2 }}
{{- end -}}

{{/* The storage URL with the MinIO keys put in inside the pod. */}}
{{- define "hamp.storageEnv" -}}
{{- $s := .Values.storage -}}
{{- $url := urlParse $s.endpoint -}}
- name: STORAGE_ACCESS_KEY
  {{- include "hamp.secretRef" (dict "name" $s.credentialsSecret.name "key" $s.credentialsSecret.accessKeyKey) | nindent 2 }}
- name: STORAGE_SECRET_KEY
  {{- include "hamp.secretRef" (dict "name" $s.credentialsSecret.name "key" $s.credentialsSecret.secretKeyKey) | nindent 2 }}
- name: HAMP_STORAGE_URL
  value: {{ printf "%s://$(STORAGE_ACCESS_KEY):$(STORAGE_SECRET_KEY)@%s%s" $url.scheme $url.host $url.path | quote }}
{{- end -}}

{{- define "hamp.logSecretEnv" -}}
{{- $es := .Values.logs.elasticsearch -}}
{{- if and $es.url $es.credentialsSecret.name }}
- name: HAMP_LOG_ELASTICSEARCH_USERNAME
  {{- include "hamp.secretRef" (dict "name" $es.credentialsSecret.name "key" $es.credentialsSecret.usernameKey) | nindent 2 }}
- name: HAMP_LOG_ELASTICSEARCH_PASSWORD
  {{- include "hamp.secretRef" (dict "name" $es.credentialsSecret.name "key" $es.credentialsSecret.passwordKey) | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The keys a registered component (a service or the gateway) holds. Argument: (dict "root" $ "personalData" bool).
*/}}
{{- define "hamp.keyEnv" -}}
{{- $keys := .root.Values.keys.secretName -}}
- name: HAMP_SERVICE_SECRET
  {{- include "hamp.secretRef" (dict "name" $keys "key" "service-secret") | nindent 2 }}
{{ include "hamp.registryPasswordEnv" .root }}
- name: HAMP_AUDIT_KEY
  {{- include "hamp.secretRef" (dict "name" $keys "key" "audit-key") | nindent 2 }}
{{- if .personalData }}
{{ include "hamp.fieldKeyEnv" .root }}
{{- end }}
{{- with .root.Values.redis }}
{{- if and .sentinels .passwordSecret.name }}
- name: HAMP_REDIS_PASSWORD
  {{- include "hamp.secretRef" .passwordSecret | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The registry's password: its peers and every registered component write to it only with it. */}}
{{- define "hamp.registryPasswordEnv" -}}
- name: HAMP_REGISTRY_PASSWORD
  {{- include "hamp.secretRef" (dict "name" .Values.keys.secretName "key" "registry-password") | nindent 2 }}
{{- end -}}

{{/* The registry itself also accepts the password being replaced, while it is rotated (docs/helm.md). */}}
{{- define "hamp.registryServerEnv" -}}
{{ include "hamp.registryPasswordEnv" . }}
- name: HAMP_REGISTRY_PREVIOUS_PASSWORD
  {{- include "hamp.secretRef" (dict "name" .Values.keys.secretName "key" "registry-previous-password" "optional" true) | nindent 2 }}
{{- end -}}

{{/* What a Job that reads or writes the data needs: the audit key and the field keys, nothing else. */}}
{{- define "hamp.dataKeyEnv" -}}
- name: HAMP_AUDIT_KEY
  {{- include "hamp.secretRef" (dict "name" .Values.keys.secretName "key" "audit-key") | nindent 2 }}
{{ include "hamp.fieldKeyEnv" . }}
{{- end -}}

{{- define "hamp.fieldKeyEnv" -}}
{{- $keys := .Values.keys.secretName -}}
- name: HAMP_FIELD_ENCRYPTION_KEYS
  {{- include "hamp.secretRef" (dict "name" $keys "key" "field-encryption-keys") | nindent 2 }}
- name: HAMP_FIELD_INDEX_KEY
  {{- include "hamp.secretRef" (dict "name" $keys "key" "field-index-key") | nindent 2 }}
- name: HAMP_FIELD_INDEX_PREVIOUS_KEY
  {{- include "hamp.secretRef" (dict "name" $keys "key" "field-index-previous-key" "optional" true) | nindent 2 }}
{{- end -}}

{{- define "hamp.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "hamp.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* The root file system is read-only: var (exports, scratch) and /tmp are emptyDirs. */}}
{{- define "hamp.scratchVolumes" -}}
- name: var
  emptyDir:
    sizeLimit: 1Gi
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}

{{- define "hamp.scratchMounts" -}}
- name: var
  mountPath: /var/lib/hamp
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "hamp.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
A long-running component's pod template. Argument: (dict "root" $ "name" "oms" "port" 8101
"resources" {...} "env" "<rendered env list>" "checksum" "<config checksum>").
*/}}
{{- define "hamp.podTemplate" -}}
metadata:
  labels:
    {{- include "hamp.labels" . | nindent 4 }}
  annotations:
    checksum/config: {{ .checksum }}
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ .port | quote }}
    prometheus.io/path: /metrics
spec:
  serviceAccountName: {{ include "hamp.fullname" .root }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with .root.Values.image.pullSecrets }}
  imagePullSecrets:
    {{- range . }}
    - name: {{ . }}
    {{- end }}
  {{- end }}
  securityContext:
    {{- include "hamp.podSecurityContext" .root | nindent 4 }}
  terminationGracePeriodSeconds: 30
  affinity:
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels:
                {{- include "hamp.selectorLabels" . | nindent 16 }}
  containers:
    - name: {{ .name }}
      image: {{ include "hamp.image" .root }}
      imagePullPolicy: {{ .root.Values.image.pullPolicy }}
      args: ["run", {{ .name | quote }}]
      ports:
        - name: http
          containerPort: {{ .port }}
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ include "hamp.fullname" .root }}
      env:
        # Announced to the registry: the gateway reaches this pod at its own address.
        - name: HAMP_PUBLIC_HOST
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        {{- with .env | trim }}
        {{- . | nindent 8 }}
        {{- end }}
      startupProbe:
        httpGet: {path: /health, port: http}
        periodSeconds: 2
        failureThreshold: 60
      livenessProbe:
        httpGet: {path: /health, port: http}
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet: {path: /health/ready, port: http}
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 3
      resources:
        {{- toYaml .resources | nindent 8 }}
      securityContext:
        {{- include "hamp.containerSecurityContext" .root | nindent 8 }}
      volumeMounts:
        {{- include "hamp.scratchMounts" .root | nindent 8 }}
  volumes:
    {{- include "hamp.scratchVolumes" .root | nindent 4 }}
{{- end -}}

{{/* Env of a Job that works on every service's database (migrations, backup). */}}
{{- define "hamp.jobEnv" -}}
{{- range $name, $value := (include "hamp.configData" . | fromYaml) }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{ include "hamp.databasePasswordEnv" . }}
{{- range $name := concat (list "gateway") (keys .Values.components | sortAlpha) }}
{{ include "hamp.databaseEnv" (dict "root" $ "name" $name "database" (index ($.Values.components) $name | default dict).database) }}
{{- end }}
{{- include "hamp.logSecretEnv" . }}
{{- end -}}

{{/*
A long-running component behind a Service: Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget.
The gateway and each of the seven services are rendered by this one definition.
Argument: (dict "root" $ "name" "oms" "port" 8101 "spec" <replicas/resources/autoscaling/pdb> "env" "<env list>").
*/}}
{{- define "hamp.workload" -}}
{{- $name := include "hamp.componentName" . -}}
{{- $ctx := dict "root" .root "name" .name -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "hamp.labels" $ctx | nindent 4 }}
spec:
  {{- if not .spec.autoscaling.enabled }}
  replicas: {{ .spec.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  selector:
    matchLabels:
      {{- include "hamp.selectorLabels" $ctx | nindent 6 }}
  template:
    {{- include "hamp.podTemplate" (dict "root" .root "name" .name "port" .port "resources" .spec.resources "env" .env "checksum" .checksum) | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "hamp.labels" $ctx | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "hamp.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: http
      port: {{ .port }}
      targetPort: http
      protocol: TCP
{{- if .spec.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}
  labels:
    {{- include "hamp.labels" $ctx | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $name }}
  minReplicas: {{ .spec.autoscaling.minReplicas }}
  maxReplicas: {{ .spec.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .spec.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "hamp.labels" $ctx | nindent 4 }}
spec:
  maxUnavailable: {{ .spec.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "hamp.selectorLabels" $ctx | nindent 6 }}
{{- end -}}

{{/* NetworkPolicy peers: the release's pods of the named components. Argument: (dict "release" name "components" list). */}}
{{- define "hamp.podsOf" -}}
- podSelector:
    matchExpressions:
      - {key: app.kubernetes.io/name, operator: In, values: [hamp]}
      - {key: app.kubernetes.io/instance, operator: In, values: [{{ .release | quote }}]}
      - {key: app.kubernetes.io/component, operator: In, values: {{ .components | toJson }}}
{{- end -}}
{{/* Namespaces of the hospital's own apps (Spring services …) that register and are routed by the gateway. */}}
{{- define "hamp.externalAppsFrom" -}}
{{- range .Values.network.externalAppNamespaces }}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ . }}
{{- end }}
{{- end -}}
{{- define "hamp.metricsFrom" -}}
{{- range .Values.network.metricsNamespaces }}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ . }}
{{- end }}
{{- end -}}
