package main

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
)

// emitter writes one JSON object per line. Callbacks of the library run on
// several goroutines, so every line is written whole under a lock.
type emitter struct {
	mu sync.Mutex
	w  io.Writer
}

type fields map[string]any

func (e *emitter) emit(event string, f fields) {
	body, err := json.Marshal(f)
	if err != nil {
		body, _ = json.Marshal(fields{"marshalError": err.Error()})
	}
	// "event" goes first so that a human reading the stream can scan it.
	line := `{"event":` + string(mustJSON(event))
	if len(body) > 2 {
		line += "," + string(body[1:])
	} else {
		line += "}"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = io.WriteString(e.w, line+"\n")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// Enum names without the protobuf prefix: "CommandType_Restart" -> "Restart".
func enumName(s string) string {
	if i := strings.LastIndex(s, "_"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func uidString(b []byte) string {
	if u, err := uuid.FromBytes(b); err == nil {
		return u.String()
	}
	return hex.EncodeToString(b)
}

// capabilityNames lists the short names of the bits set in caps.
func capabilityNames(caps uint64) []string {
	names := []string{}
	for name, bit := range protobufs.AgentCapabilities_value {
		if bit != 0 && caps&uint64(bit) != 0 {
			names = append(names, strings.TrimPrefix(name, "AgentCapabilities_"))
		}
	}
	sort.Strings(names)
	return names
}

func headersMap(h *protobufs.Headers) map[string]string {
	m := map[string]string{}
	for _, kv := range h.GetHeaders() {
		m[kv.GetKey()] = kv.GetValue()
	}
	return m
}

func configMapJSON(m *protobufs.AgentConfigMap) fields {
	out := fields{}
	for name, f := range m.GetConfigMap() {
		out[name] = fields{"contentType": f.GetContentType(), "body": string(f.GetBody())}
	}
	return out
}

func telemetrySettingsJSON(s *protobufs.TelemetryConnectionSettings) any {
	if s == nil {
		return nil
	}
	return fields{"destinationEndpoint": s.GetDestinationEndpoint(), "headers": headersMap(s.GetHeaders()),
		"hasCertificate": s.GetCertificate() != nil, "proxy": proxyJSON(s.GetProxy())}
}

// proxyJSON shows the proxy an offer names (spec v0.17 ProxyConnectionSettings), nil when none.
func proxyJSON(p *protobufs.ProxyConnectionSettings) any {
	if p == nil {
		return nil
	}
	return fields{"url": p.GetUrl(), "connectHeaders": headersMap(p.GetConnectHeaders())}
}

// messageJSON summarises one ServerToAgent as it came off the wire.
func messageJSON(m *protobufs.ServerToAgent) fields {
	f := fields{
		"instanceUid":            uidString(m.GetInstanceUid()),
		"flags":                  m.GetFlags(),
		"capabilities":           m.GetCapabilities(),
		"hasRemoteConfig":        m.GetRemoteConfig() != nil,
		"hasConnectionSettings":  m.GetConnectionSettings() != nil,
		"hasCommand":             m.GetCommand() != nil,
		"hasPackagesAvailable":   m.GetPackagesAvailable() != nil,
		"hasAgentIdentification": m.GetAgentIdentification() != nil,
		"hasCustomCapabilities":  m.GetCustomCapabilities() != nil,
		"hasCustomMessage":       m.GetCustomMessage() != nil,
	}
	if m.GetCommand() != nil {
		f["command"] = enumName(m.GetCommand().GetType().String())
	}
	if e := m.GetErrorResponse(); e != nil {
		f["errorResponse"] = fields{
			"type":                  enumName(e.GetType().String()),
			"errorMessage":          e.GetErrorMessage(),
			"retryAfterNanoseconds": e.GetRetryInfo().GetRetryAfterNanoseconds(),
		}
	}
	return f
}
