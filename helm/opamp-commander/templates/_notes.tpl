{{/*
Agent configuration snippets for NOTES.txt: the Collector's opamp extension and the OpAMP
supervisor, both pointed at the given WebSocket endpoint.
Call with (dict "endpoint" URL "ctx" $).
*/}}
{{- define "opamp-commander.notesAgentSnippets" -}}
{{- $token := eq .ctx.Values.config.opamp.agentAuth "token" }}

  a) OpenTelemetry Collector (contrib) with the opamp extension, in its config:

     extensions:
       opamp:
         server:
           ws:
             endpoint: {{ .endpoint }}
{{- if $token }}
             headers:
               Authorization: "Bearer <enrollment token>"
{{- end }}
     service:
       extensions: [opamp]

  b) OpAMP supervisor (opampsupervisor), which also lets the server push configuration:

     server:
       endpoint: {{ .endpoint }}
{{- if $token }}
       headers:
         Authorization: "Bearer <enrollment token>"
{{- end }}
     capabilities:
       accepts_remote_config: true
       reports_effective_config: true
       reports_remote_config: true
       reports_health: true
       reports_own_metrics: false
     agent:
       executable: /otelcol-contrib
     storage:
       directory: /var/lib/otelcol/supervisor
{{- end }}
