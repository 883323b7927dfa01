package main

// These tests run the agent binary (this test binary re-executed, see TestMain)
// against opamp-go's own server package on loopback, over WS and plain HTTP,
// and drive it through stdin/stdout exactly as the Jest suite will.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opamp-go/server"
	servertypes "github.com/open-telemetry/opamp-go/server/types"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) {
	// Re-executed as the agent: run main's logic instead of the tests.
	if os.Getenv("GO_AGENT_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// ---- a minimal OpAMP server on opamp-go's server package ----

type fakeServer struct {
	url     string // without scheme
	config  *protobufs.AgentRemoteConfig
	newUID  []byte
	pkgs    *protobufs.PackagesAvailable // offered once to agents with AcceptsPackages
	mu      sync.Mutex
	msgs    []*protobufs.AgentToServer
	sent    map[string]bool // remote config sent, per uid
	pkgSent bool
	command bool // answer the next message with a Restart command
}

func startFakeServer(t *testing.T, configBody string, compression bool) *fakeServer {
	t.Helper()
	hash := sha256.Sum256([]byte("\x00" + configBody))
	fs := &fakeServer{
		config: &protobufs.AgentRemoteConfig{
			Config: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
				"": {Body: []byte(configBody), ContentType: "text/yaml"},
			}},
			ConfigHash: hash[:],
		},
		sent: map[string]bool{},
	}
	u := uuid.Must(uuid.NewV7())
	fs.newUID = u[:]
	s := server.New(nil)
	err := s.Start(server.StartSettings{
		ListenEndpoint: "127.0.0.1:0",
		Settings: server.Settings{EnableCompression: compression, Callbacks: servertypes.Callbacks{
			OnConnecting: func(*http.Request) servertypes.ConnectionResponse {
				return servertypes.ConnectionResponse{Accept: true, ConnectionCallbacks: servertypes.ConnectionCallbacks{
					OnMessage: fs.onMessage,
				}}
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	fs.url = s.Addr().String() + "/v1/opamp"
	return fs
}

func (fs *fakeServer) onMessage(_ context.Context, _ servertypes.Connection, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.msgs = append(fs.msgs, proto.Clone(msg).(*protobufs.AgentToServer))
	resp := &protobufs.ServerToAgent{
		InstanceUid: msg.GetInstanceUid(),
		Capabilities: uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsStatus |
			protobufs.ServerCapabilities_ServerCapabilities_OffersRemoteConfig |
			protobufs.ServerCapabilities_ServerCapabilities_AcceptsEffectiveConfig),
	}
	if fs.command {
		fs.command = false
		resp.Command = &protobufs.ServerToAgentCommand{Type: protobufs.CommandType_CommandType_Restart}
		return resp // opamp-go ignores everything else in a message with a command
	}
	if msg.GetFlags()&uint64(protobufs.AgentToServerFlags_AgentToServerFlags_RequestInstanceUid) != 0 {
		resp.AgentIdentification = &protobufs.AgentIdentification{NewInstanceUid: fs.newUID}
	}
	uid := string(msg.GetInstanceUid())
	if !fs.sent[uid] && !bytes.Equal(msg.GetRemoteConfigStatus().GetLastRemoteConfigHash(), fs.config.ConfigHash) {
		resp.RemoteConfig = fs.config
		fs.sent[uid] = true
	}
	if fs.pkgs != nil && !fs.pkgSent &&
		msg.GetCapabilities()&uint64(protobufs.AgentCapabilities_AgentCapabilities_AcceptsPackages) != 0 {
		resp.PackagesAvailable = fs.pkgs
		fs.pkgSent = true
	}
	if resp.AgentIdentification != nil { // the agent's state moves to its new uid
		fs.sent[string(fs.newUID)] = fs.sent[uid]
	}
	return resp
}

// waitFor polls the received messages until pred holds for one of them.
func (fs *fakeServer) waitFor(t *testing.T, what string, pred func(*protobufs.AgentToServer) bool) *protobufs.AgentToServer {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		fs.mu.Lock()
		for _, m := range fs.msgs {
			if pred(m) {
				fs.mu.Unlock()
				return m
			}
		}
		fs.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server never received %s", what)
	return nil
}

func (fs *fakeServer) statuses() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out []string
	for _, m := range fs.msgs {
		if s := m.GetRemoteConfigStatus(); s != nil && bytes.Equal(s.GetLastRemoteConfigHash(), fs.config.ConfigHash) {
			out = append(out, enumName(s.GetStatus().String()))
		}
	}
	return out
}

// ---- the agent as a child process ----

type agentProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	events  chan map[string]any
	pending []map[string]any
	stderr  *bytes.Buffer
}

func startAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "GO_AGENT_RUN_MAIN=1")
	p := &agentProc{cmd: cmd, events: make(chan map[string]any, 1000), stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev map[string]any
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				ev = map[string]any{"event": "NOT_JSON", "line": sc.Text()}
			}
			p.events <- ev
		}
		close(p.events)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("agent stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

// waitEvent returns the first event named name that satisfies pred (nil =
// any), in any order relative to other waits: events that did not match are
// kept for later calls.
func (p *agentProc) waitEvent(t *testing.T, name string, pred func(map[string]any) bool) map[string]any {
	t.Helper()
	match := func(ev map[string]any) bool { return ev["event"] == name && (pred == nil || pred(ev)) }
	for i, ev := range p.pending {
		if match(ev) {
			p.pending = append(p.pending[:i], p.pending[i+1:]...)
			return ev
		}
	}
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				t.Fatalf("agent exited before event %q", name)
			}
			t.Logf("event: %v", ev)
			if ev["event"] == "NOT_JSON" {
				t.Fatalf("agent printed a non-JSON line: %v", ev["line"])
			}
			if match(ev) {
				return ev
			}
			p.pending = append(p.pending, ev)
		case <-timeout:
			t.Fatalf("timed out waiting for event %q", name)
		}
	}
}

func (p *agentProc) send(t *testing.T, cmd string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, cmd+"\n"); err != nil {
		t.Fatal(err)
	}
}

// ---- tests ----

func TestInterop(t *testing.T) {
	for _, scheme := range []string{"ws", "http"} {
		t.Run(scheme, func(t *testing.T) {
			const body = "receivers:\n  otlp: {}\n"
			fs := startFakeServer(t, body, false)
			wantHash := hex.EncodeToString(fs.config.ConfigHash)
			a := startAgent(t, "--url", scheme+"://"+fs.url, "--heartbeat", "1", "--request-new-uid",
				"--header", "Authorization: Bearer secret", "--attr", "deployment.environment=test",
				"--custom-capability", "io.opamp-commander.test/v1")

			a.waitEvent(t, "started", nil)
			a.waitEvent(t, "message", func(ev map[string]any) bool { return ev["capabilities"].(float64) != 0 })
			uidEv := a.waitEvent(t, "new_instance_uid", nil)
			if uidEv["uid"] != uuid.UUID(fs.newUID).String() {
				t.Fatalf("new uid %v, want %s", uidEv["uid"], uuid.UUID(fs.newUID))
			}
			rc := a.waitEvent(t, "remote_config", nil)
			if rc["hash"] != wantHash {
				t.Fatalf("remote_config hash %v, want %s", rc["hash"], wantHash)
			}
			a.waitEvent(t, "config_status", func(ev map[string]any) bool { return ev["status"] == "APPLIED" })

			// The server must see APPLYING, then APPLIED, then the new effective config.
			fs.waitFor(t, "APPLIED", func(m *protobufs.AgentToServer) bool {
				return m.GetRemoteConfigStatus().GetStatus() == statusApplied
			})
			if got := strings.Join(fs.statuses(), ","); got != "APPLYING,APPLIED" {
				t.Fatalf("statuses seen by server: %s, want APPLYING,APPLIED", got)
			}
			fs.waitFor(t, "effective config", func(m *protobufs.AgentToServer) bool {
				return string(m.GetEffectiveConfig().GetConfigMap().GetConfigMap()[""].GetBody()) == body
			})
			fs.waitFor(t, "message under the new uid", func(m *protobufs.AgentToServer) bool {
				return bytes.Equal(m.GetInstanceUid(), fs.newUID)
			})

			a.send(t, `{"cmd":"set_health","healthy":false,"status":"degraded","lastError":"boom"}`)
			a.waitEvent(t, "ack", nil)
			fs.waitFor(t, "health", func(m *protobufs.AgentToServer) bool {
				return m.GetHealth() != nil && !m.GetHealth().GetHealthy() && m.GetHealth().GetLastError() == "boom"
			})

			a.send(t, `{"cmd":"set_attr","key":"zone","value":"eu-1"}`)
			a.waitEvent(t, "ack", nil)
			fs.waitFor(t, "new description", func(m *protobufs.AgentToServer) bool {
				for _, kv := range m.GetAgentDescription().GetNonIdentifyingAttributes() {
					if kv.GetKey() == "zone" && kv.GetValue().GetStringValue() == "eu-1" {
						return true
					}
				}
				return false
			})

			a.send(t, `{"cmd":"send_custom_message","capability":"io.opamp-commander.test/v1","type":"ping","data":"hello"}`)
			a.waitEvent(t, "ack", nil)
			fs.waitFor(t, "custom message", func(m *protobufs.AgentToServer) bool {
				return m.GetCustomMessage().GetType() == "ping" && string(m.GetCustomMessage().GetData()) == "hello"
			})

			// Restart: the agent stops (agent_disconnect) and starts again at sequence 0.
			fs.mu.Lock()
			fs.command = true
			fs.mu.Unlock()
			a.waitEvent(t, "command", func(ev map[string]any) bool { return ev["type"] == "Restart" })
			a.waitEvent(t, "restart", nil)
			fs.waitFor(t, "agent_disconnect", func(m *protobufs.AgentToServer) bool { return m.GetAgentDisconnect() != nil })
			fs.waitFor(t, "first message after restart", func(m *protobufs.AgentToServer) bool {
				return m.GetSequenceNum() == 0 && bytes.Equal(m.GetInstanceUid(), fs.newUID)
			})

			a.send(t, `{"cmd":"stats"}`)
			st := a.waitEvent(t, "stats", nil)
			if st["sent"].(float64) < 5 || st["received"].(float64) < 5 {
				t.Fatalf("stats too low: %v", st)
			}

			fs.mu.Lock()
			before := len(fs.msgs)
			fs.mu.Unlock()
			a.send(t, `{"cmd":"stop"}`)
			stopped := a.waitEvent(t, "stopped", nil)
			if want := map[string]string{"ws": "library", "http": "manual"}[scheme]; stopped["agentDisconnect"] != want {
				t.Fatalf("agentDisconnect %v, want %s", stopped["agentDisconnect"], want)
			}
			if err := a.cmd.Wait(); err != nil {
				t.Fatalf("agent exit: %v", err)
			}
			fs.mu.Lock()
			last := fs.msgs[len(fs.msgs)-1]
			after := len(fs.msgs)
			fs.mu.Unlock()
			if after <= before || last.GetAgentDisconnect() == nil {
				t.Fatalf("last message has no agent_disconnect: %v", last)
			}
		})
	}
}

func TestFailedConfig(t *testing.T) {
	for _, scheme := range []string{"ws", "http"} {
		t.Run(scheme, func(t *testing.T) {
			// Compression on both sides also exercises the wire tap's inflate/gunzip.
			fs := startFakeServer(t, "receivers:\n  broken: {}\n", true)
			a := startAgent(t, "--url", scheme+"://"+fs.url, "--heartbeat", "1", "--fail-configs-containing", "broken",
				"--compression")
			a.waitEvent(t, "config_status", func(ev map[string]any) bool { return ev["status"] == "FAILED" })
			m := fs.waitFor(t, "FAILED", func(m *protobufs.AgentToServer) bool {
				return m.GetRemoteConfigStatus().GetStatus() == statusFailed
			})
			if !strings.Contains(m.GetRemoteConfigStatus().GetErrorMessage(), "broken") {
				t.Fatalf("error message %q", m.GetRemoteConfigStatus().GetErrorMessage())
			}
			a.send(t, `{"cmd":"stats"}`)
			if st := a.waitEvent(t, "stats", nil); st["received"].(float64) < 2 {
				t.Fatalf("wire tap missed compressed messages: %v", st)
			}
			_ = a.stdin.Close() // EOF = stop
			a.waitEvent(t, "stopped", nil)
			if err := a.cmd.Wait(); err != nil {
				t.Fatalf("agent exit: %v", err)
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--url", "ftp://x"}, strings.NewReader(""), &out, &errOut); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(out.String(), `"event":"fatal"`) {
		t.Fatalf("stdout %q", out.String())
	}
}

func TestPackages(t *testing.T) {
	file := []byte("#!/bin/sh\necho plugin\n")
	sum := sha256.Sum256(file)
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(file) }))
	defer files.Close()

	fs := startFakeServer(t, "receivers: {}\n", false)
	pkgs := &protobufs.PackagesAvailable{
		AllPackagesHash: []byte{1, 2, 3},
		Packages: map[string]*protobufs.PackageAvailable{
			"plugin": {Type: protobufs.PackageType_PackageType_TopLevel, Version: "1.2.3", Hash: []byte{9},
				File: &protobufs.DownloadableFile{DownloadUrl: files.URL + "/plugin", ContentHash: sum[:]}},
		},
	}
	fs.mu.Lock()
	fs.pkgs = pkgs
	fs.mu.Unlock()
	a := startAgent(t, "--url", "ws://"+fs.url, "--capabilities", defaultCapabilities+",AcceptsPackages,ReportsPackageStatuses")
	a.waitEvent(t, "packages_available", nil)
	st := a.waitEvent(t, "package_statuses", nil)
	if got := st["packages"].(map[string]any)["plugin"].(map[string]any)["status"]; got != "Installed" {
		t.Fatalf("package status %v", got)
	}
	fs.waitFor(t, "Installed status", func(m *protobufs.AgentToServer) bool {
		return m.GetPackageStatuses().GetPackages()["plugin"].GetStatus() == protobufs.PackageStatusEnum_PackageStatusEnum_Installed
	})
}

func TestRejectedAndSigterm(t *testing.T) {
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer deny.Close()
	host := strings.TrimPrefix(deny.URL, "http://")

	ws := startAgent(t, "--url", "ws://"+host+"/v1/opamp")
	ws.waitEvent(t, "connect_failed", func(ev map[string]any) bool { return ev["httpStatus"] == float64(401) })

	h := startAgent(t, "--url", "http://"+host+"/v1/opamp")
	h.waitEvent(t, "http_error", func(ev map[string]any) bool { return ev["status"] == float64(401) })

	for _, p := range []*agentProc{ws, h} {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		p.waitEvent(t, "stopped", func(ev map[string]any) bool { return ev["reason"] == "terminated" })
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	}
}
