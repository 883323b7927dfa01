package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/client"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

const (
	capReportsEffectiveConfig = protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig
	capReportsHealth          = protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth
	capPackages               = protobufs.AgentCapabilities_AgentCapabilities_AcceptsPackages |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsPackageStatuses

	statusApplying = protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING
	statusApplied  = protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED
	statusFailed   = protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED
)

type options struct {
	url              string
	transport        string // "ws" or "http", from the URL scheme
	uid              uuid.UUID
	headers          http.Header
	identifying      []*protobufs.KeyValue
	nonIdentifying   []*protobufs.KeyValue
	caps             protobufs.AgentCapabilities
	heartbeat        *time.Duration
	effectiveConfig  string
	autoApply        bool
	failContaining   string
	appliedEffective string
	applyDelay       time.Duration
	requestNewUID    bool
	customCaps       []string
	compression      bool
	// downloadCA: PEM certificates trusted (besides the system's) for package downloads over https.
	downloadCA *x509.CertPool
	// failSettingsContaining: refuse (report FAILED for) connection settings naming an endpoint containing it.
	failSettingsContaining string
	// followOpampEndpoint: reconnect to the OpAMP endpoint an offer names, as a real agent does.
	followOpampEndpoint bool
}

type agent struct {
	opts    options
	out     *emitter
	log     types.Logger
	tap     *wireTap
	pkgs    *memPackages
	applyCh chan *protobufs.AgentRemoteConfig

	mu           sync.Mutex
	client       client.OpAMPClient
	uid          types.InstanceUid
	gotNewUID    bool
	description  *protobufs.AgentDescription
	health       *protobufs.ComponentHealth
	effective    map[string]*protobufs.AgentConfigFile
	remoteStatus *protobufs.RemoteConfigStatus
	// settingsHash is the last connection settings offer taken. opamp-go reports the status of an
	// offer as it takes it; a new client (restart, move) starts with it as its last status.
	settingsHash []byte
	// settingsErr is why the agent refused the offer of settingsHash ("" when it took it).
	settingsErr string
	// url is the OpAMP endpoint the client (re)starts on: --url, or where an offer moved it.
	url        string
	connected  bool
	lastFail   string
	lastFailAt time.Time
}

func newAgent(opts options, out *emitter, log types.Logger) *agent {
	now := uint64(time.Now().UnixNano())
	a := &agent{
		opts:        opts,
		out:         out,
		log:         log,
		pkgs:        newMemPackages(),
		applyCh:     make(chan *protobufs.AgentRemoteConfig, 64),
		uid:         types.InstanceUid(opts.uid),
		url:         opts.url,
		description: &protobufs.AgentDescription{IdentifyingAttributes: opts.identifying, NonIdentifyingAttributes: opts.nonIdentifying},
		health:      &protobufs.ComponentHealth{Healthy: true, Status: "running", StartTimeUnixNano: now, StatusTimeUnixNano: now},
		effective: map[string]*protobufs.AgentConfigFile{
			"": {Body: []byte(opts.effectiveConfig), ContentType: "text/yaml"},
		},
	}
	a.tap = &wireTap{
		onReceived: func(m *protobufs.ServerToAgent, extra fields) {
			f := messageJSON(m)
			for k, v := range extra {
				f[k] = v
			}
			a.out.emit("message", f)
		},
		onHTTPError: func(status int, retryAfter string) {
			a.out.emit("http_error", fields{"status": status, "retryAfter": retryAfter})
		},
		onWSClosed: func() {
			a.setConnected(false)
			a.out.emit("disconnected", fields{"transport": "ws"})
		},
		onBadFrame: func(direction string, err error) {
			a.out.emit("decode_error", fields{"direction": direction, "error": err.Error()})
		},
	}
	go a.applyLoop()
	return a
}

func (a *agent) currentClient() client.OpAMPClient {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.client
}

func (a *agent) setConnected(v bool) (changed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	changed = a.connected != v
	a.connected = v
	return changed
}

// startClient builds a fresh opamp-go client from the agent's current state and
// starts it. Used at start-up and for a simulated restart, where the new client
// begins again at sequence_num 0 like a restarted process would.
func (a *agent) startClient() error {
	var c client.OpAMPClient
	if a.opts.transport == "ws" {
		c = client.NewWebSocket(a.log)
	} else {
		c = client.NewHTTP(a.log)
	}

	a.mu.Lock()
	desc := proto.Clone(a.description).(*protobufs.AgentDescription)
	health := proto.Clone(a.health).(*protobufs.ComponentHealth)
	var status *protobufs.RemoteConfigStatus
	if a.remoteStatus != nil {
		status = proto.Clone(a.remoteStatus).(*protobufs.RemoteConfigStatus)
	}
	uid := a.uid
	settingsHash, settingsErr := a.settingsHash, a.settingsErr
	serverURL := a.url
	requestUID := a.opts.requestNewUID && !a.gotNewUID
	a.client = c // set before Start: callbacks may fire before Start returns
	a.mu.Unlock()

	if err := c.SetAgentDescription(desc); err != nil {
		return err
	}
	// The library refuses ReportsHealth unless health is set before Start, and
	// sends health whatever the capabilities, so set it only with the capability.
	if a.opts.caps&capReportsHealth != 0 {
		if err := c.SetHealth(health); err != nil {
			return err
		}
	}
	// Before Start this only stores state; the first message carries just the hash.
	if err := c.SetAvailableComponents(availableComponents()); err != nil {
		return err
	}
	if err := c.SetCustomCapabilities(&protobufs.CustomCapabilities{Capabilities: a.opts.customCaps}); err != nil {
		return err
	}
	if requestUID {
		c.SetFlags(protobufs.AgentToServerFlags_AgentToServerFlags_RequestInstanceUid)
	}

	settings := types.StartSettings{
		OpAMPServerURL:     serverURL,
		Header:             a.opts.headers,
		InstanceUid:        uid,
		RemoteConfigStatus: status,
		HeartbeatInterval:  a.opts.heartbeat,
		EnableCompression:  a.opts.compression,
		Callbacks: types.Callbacks{
			OnConnect:                 func(context.Context) { a.onConnect() },
			OnConnectFailed:           func(_ context.Context, err error) { a.onConnectFailed(err) },
			OnMessage:                 a.onMessage,
			OnOpampConnectionSettings: a.onOpampConnectionSettings,
			OnConnectionSettings:      a.onConnectionSettings,
			OnCommand:                 a.onCommand,
			GetEffectiveConfig:        a.getEffectiveConfig,
			DownloadHTTPClient:        a.downloadClient,
		},
	}
	if a.opts.caps&protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus != 0 && settingsHash != nil {
		settings.LastConnectionSettingsStatus = &protobufs.ConnectionSettingsStatus{
			LastConnectionSettingsHash: settingsHash,
			Status:                     protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED,
		}
		if settingsErr != "" {
			settings.LastConnectionSettingsStatus.Status = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED
			settings.LastConnectionSettingsStatus.ErrorMessage = settingsErr
		}
	}
	caps := a.opts.caps
	if caps&capPackages != 0 {
		// SetCapabilities checks the packages bits against a PackagesStateProvider
		// that only Start installs, so with packages the (deprecated) StartSettings
		// field is the only way in. The library logs an error line for it.
		settings.PackagesStateProvider = a.pkgs
		settings.Capabilities = caps
	} else if err := c.SetCapabilities(&caps); err != nil {
		return err
	}
	return c.Start(context.Background(), settings)
}

// downloadClient is the HTTP client the package syncer downloads with: the
// library's default, or one that also trusts --download-ca for https URLs.
func (a *agent) downloadClient(context.Context, *protobufs.DownloadableFile) (*http.Client, error) {
	if a.opts.downloadCA == nil {
		return &http.Client{Timeout: 5 * time.Minute}, nil
	}
	// A transport of its own: http.DefaultTransport is the wire tap (tap.go).
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{RootCAs: a.opts.downloadCA, MinVersion: tls.VersionTLS12}}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}, nil
}

// stopClient stops c gracefully. mode says how agent_disconnect went out:
// "library" (WS), "manual" (HTTP) or "failed" (HTTP, with disconnectErr).
func (a *agent) stopClient(c client.OpAMPClient) (mode string, stopErr, disconnectErr error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopErr = c.Stop(ctx)
	if a.opts.transport == "ws" {
		return "library", stopErr, nil // the WS client puts agent_disconnect in its last message
	}
	// opamp-go's HTTP client sends nothing on Stop, so say goodbye by hand.
	a.setConnected(false)
	if disconnectErr = a.sendHTTPDisconnect(ctx); disconnectErr != nil {
		return "failed", stopErr, disconnectErr
	}
	return "manual", stopErr, nil
}

func (a *agent) sendHTTPDisconnect(ctx context.Context) error {
	_, _, lastSeq := a.tap.counts()
	a.mu.Lock()
	uid := a.uid
	a.mu.Unlock()
	msg := &protobufs.AgentToServer{
		InstanceUid:     uid[:],
		SequenceNum:     lastSeq + 1,
		Capabilities:    uint64(a.opts.caps | protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus),
		AgentDisconnect: &protobufs.AgentDisconnect{},
	}
	body, err := proto.Marshal(msg)
	if err != nil {
		return err
	}
	a.mu.Lock()
	target := a.url
	a.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = a.opts.headers.Clone()
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("OpAMP-Instance-UID", uuid.UUID(uid).String())
	resp, err := http.DefaultClient.Do(req) // through the tap, so it is counted
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("agent_disconnect answered with HTTP %d", resp.StatusCode)
	}
	return nil
}

func (a *agent) restart() {
	a.out.emit("restart", fields{})
	mode, stopErr, disconnectErr := a.stopClient(a.currentClient())
	if err := errors.Join(stopErr, disconnectErr); err != nil {
		a.out.emit("error", fields{"during": "restart", "error": err.Error(), "agentDisconnect": mode})
	}
	if err := a.startClient(); err != nil {
		a.out.emit("error", fields{"during": "restart", "error": err.Error()})
	}
}

// ---- callbacks ----

func (a *agent) onConnect() {
	// The HTTP client calls OnConnect on every 200 answer; report transitions only.
	if a.setConnected(true) {
		a.out.emit("connected", fields{"transport": a.opts.transport})
	}
}

func (a *agent) onConnectFailed(err error) {
	a.mu.Lock()
	// The WS client reports a failed dial twice in a row; drop the echo.
	dup := err.Error() == a.lastFail && time.Since(a.lastFailAt) < 100*time.Millisecond
	a.lastFail, a.lastFailAt, a.connected = err.Error(), time.Now(), false
	a.mu.Unlock()
	if dup {
		return
	}
	f := fields{"error": err.Error()}
	if s := a.tap.takeStatus(); s != 0 {
		f["httpStatus"] = s
	}
	a.out.emit("connect_failed", f)
}

func (a *agent) onMessage(_ context.Context, m *types.MessageData) {
	if rc := m.RemoteConfig; rc != nil {
		a.out.emit("remote_config", fields{"config": configMapJSON(rc.GetConfig()), "hash": hex.EncodeToString(rc.GetConfigHash())})
		if a.opts.autoApply {
			select {
			case a.applyCh <- rc:
			default:
				a.out.emit("error", fields{"during": "remote_config", "error": "apply queue full"})
			}
		}
	}
	if m.OfferedConnectionsSettingsHash != nil || m.OwnMetricsConnSettings != nil || m.OwnTracesConnSettings != nil ||
		m.OwnLogsConnSettings != nil || m.OtherConnSettings != nil {
		others := []string{}
		for name := range m.OtherConnSettings {
			others = append(others, name)
		}
		if m.OfferedConnectionsSettingsHash != nil {
			a.mu.Lock()
			a.settingsHash = append([]byte(nil), m.OfferedConnectionsSettingsHash...)
			a.settingsErr = ""
			a.mu.Unlock()
		}
		a.out.emit("connection_settings", fields{
			"hash":             hex.EncodeToString(m.OfferedConnectionsSettingsHash),
			"ownMetrics":       telemetrySettingsJSON(m.OwnMetricsConnSettings),
			"ownTraces":        telemetrySettingsJSON(m.OwnTracesConnSettings),
			"ownLogs":          telemetrySettingsJSON(m.OwnLogsConnSettings),
			"otherConnections": others,
		})
	}
	if s := m.OwnMetricsConnSettings; s != nil {
		a.out.emit("own_metrics", telemetrySettingsJSON(s).(fields))
	}
	if pa := m.PackagesAvailable; pa != nil {
		pkgs := fields{}
		for name, p := range pa.GetPackages() {
			pkgs[name] = fields{"type": enumName(p.GetType().String()), "version": p.GetVersion(),
				"hash": hex.EncodeToString(p.GetHash()), "downloadUrl": p.GetFile().GetDownloadUrl(),
				"contentHash": hex.EncodeToString(p.GetFile().GetContentHash()),
				"signature":   base64.StdEncoding.EncodeToString(p.GetFile().GetSignature())}
		}
		a.out.emit("packages_available", fields{"allPackagesHash": hex.EncodeToString(pa.GetAllPackagesHash()), "packages": pkgs})
		if syncer := m.PackageSyncer; syncer != nil {
			// Sync takes a lock held by any sync still running; never block the
			// callback (over HTTP it runs on the only sending goroutine).
			go func() {
				if err := syncer.Sync(context.Background()); err != nil {
					a.out.emit("error", fields{"during": "package_sync", "error": err.Error()})
					return
				}
				<-syncer.Done()
				a.out.emit("package_statuses", a.pkgs.statusesJSON())
			}()
		}
	}
	if id := m.AgentIdentification; id != nil {
		// The library already switched to the new uid; remember it for restarts.
		a.mu.Lock()
		copy(a.uid[:], id.GetNewInstanceUid())
		a.gotNewUID = true
		a.mu.Unlock()
		a.out.emit("new_instance_uid", fields{"uid": uidString(id.GetNewInstanceUid()), "hex": hex.EncodeToString(id.GetNewInstanceUid())})
	}
	if cm := m.CustomMessage; cm != nil {
		a.out.emit("custom_message", fields{"capability": cm.GetCapability(), "type": cm.GetType(), "data": string(cm.GetData())})
	}
}

func (a *agent) onOpampConnectionSettings(_ context.Context, s *protobufs.OpAMPConnectionSettings) error {
	a.out.emit("opamp_connection_settings", fields{
		"destinationEndpoint":      s.GetDestinationEndpoint(),
		"headers":                  headersMap(s.GetHeaders()),
		"heartbeatIntervalSeconds": s.GetHeartbeatIntervalSeconds(),
		"hasCertificate":           s.GetCertificate() != nil,
		"proxy":                    proxyJSON(s.GetProxy()),
	})
	endpoint := s.GetDestinationEndpoint()
	if err := a.refuseSettings(endpoint); err != nil {
		return err
	}
	if a.opts.followOpampEndpoint && endpoint != "" {
		a.mu.Lock()
		current := a.url
		a.mu.Unlock()
		if endpoint != current {
			// After this callback returns the library reports APPLIED; let that go out first.
			go func() {
				time.Sleep(300 * time.Millisecond)
				a.moveTo(endpoint, "connection settings")
			}()
		}
	}
	return nil // accepted (without --follow-opamp-endpoint the agent does not move)
}

// onConnectionSettings takes (or refuses) the own-telemetry destinations of an offer.
func (a *agent) onConnectionSettings(_ context.Context, s *protobufs.ConnectionSettingsOffers) error {
	for _, t := range []*protobufs.TelemetryConnectionSettings{s.GetOwnMetrics(), s.GetOwnTraces(), s.GetOwnLogs()} {
		if err := a.refuseSettings(t.GetDestinationEndpoint()); err != nil {
			return err
		}
	}
	return nil
}

// refuseSettings is the error the agent refuses an endpoint with (--fail-connection-settings-containing), nil to take it.
func (a *agent) refuseSettings(endpoint string) error {
	s := a.opts.failSettingsContaining
	if s == "" || !strings.Contains(endpoint, s) {
		return nil
	}
	err := fmt.Errorf("cannot use endpoint %s", endpoint)
	a.mu.Lock()
	a.settingsErr = err.Error()
	a.mu.Unlock()
	a.out.emit("connection_settings_refused", fields{"endpoint": endpoint, "error": err.Error()})
	return err
}

// moveTo stops the client and starts a new one (same uid and state) on another OpAMP endpoint.
func (a *agent) moveTo(url, why string) {
	a.mu.Lock()
	from := a.url
	a.mu.Unlock()
	a.out.emit("move", fields{"from": from, "to": url, "why": why})
	mode, stopErr, disconnectErr := a.stopClient(a.currentClient())
	if err := errors.Join(stopErr, disconnectErr); err != nil {
		a.out.emit("error", fields{"during": "move", "error": err.Error(), "agentDisconnect": mode})
	}
	a.mu.Lock()
	a.url = url
	a.mu.Unlock()
	if err := a.startClient(); err != nil {
		a.out.emit("error", fields{"during": "move", "error": err.Error()})
	}
}

func (a *agent) onCommand(_ context.Context, cmd *protobufs.ServerToAgentCommand) error {
	a.out.emit("command", fields{"type": enumName(cmd.GetType().String())})
	if cmd.GetType() == protobufs.CommandType_CommandType_Restart {
		// Stop() waits for running callbacks, so the restart cannot happen in here.
		go a.restart()
	}
	return nil
}

func (a *agent) getEffectiveConfig(context.Context) (*protobufs.EffectiveConfig, error) {
	// The library puts the result in the first message whatever the capabilities.
	if a.opts.caps&capReportsEffectiveConfig == 0 {
		return nil, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	m := make(map[string]*protobufs.AgentConfigFile, len(a.effective))
	for k, v := range a.effective {
		m[k] = proto.Clone(v).(*protobufs.AgentConfigFile)
	}
	return &protobufs.EffectiveConfig{ConfigMap: &protobufs.AgentConfigMap{ConfigMap: m}}, nil
}

// ---- remote config ----

func (a *agent) applyLoop() {
	for rc := range a.applyCh {
		a.apply(rc)
	}
}

func (a *agent) apply(rc *protobufs.AgentRemoteConfig) {
	hash := rc.GetConfigHash()
	// Wait until APPLYING is on the wire: otherwise the library folds it and
	// APPLIED into one pending message and the server never sees APPLYING.
	sent := a.tap.expectSent(func(m *protobufs.AgentToServer) bool {
		s := m.GetRemoteConfigStatus()
		return s.GetStatus() == statusApplying && bytes.Equal(s.GetLastRemoteConfigHash(), hash)
	})
	// Without ReportsRemoteConfig the status cannot be reported; apply anyway.
	if changed, _ := a.reportConfigStatus(statusApplying, hash, ""); changed {
		select {
		case <-sent:
		case <-time.After(5 * time.Second):
		}
	}
	time.Sleep(a.opts.applyDelay)

	for name, f := range rc.GetConfig().GetConfigMap() {
		if a.opts.failContaining != "" && bytes.Contains(f.GetBody(), []byte(a.opts.failContaining)) {
			_, _ = a.reportConfigStatus(statusFailed, hash,
				fmt.Sprintf("config %q contains the forbidden string %q", name, a.opts.failContaining))
			return
		}
	}
	a.mu.Lock()
	a.effective = map[string]*protobufs.AgentConfigFile{}
	for k, v := range rc.GetConfig().GetConfigMap() {
		a.effective[k] = proto.Clone(v).(*protobufs.AgentConfigFile)
	}
	if a.opts.appliedEffective != "" {
		a.effective = map[string]*protobufs.AgentConfigFile{"": {Body: []byte(a.opts.appliedEffective), ContentType: "text/yaml"}}
	}
	a.mu.Unlock()
	if a.opts.caps&capReportsEffectiveConfig != 0 {
		if err := a.currentClient().UpdateEffectiveConfig(context.Background()); err != nil {
			a.out.emit("error", fields{"during": "apply", "error": err.Error()})
		}
	}
	_, _ = a.reportConfigStatus(statusApplied, hash, "")
}

// reportConfigStatus hands a RemoteConfigStatus to the library and emits what
// was reported. changed is false when the status equals the previous one (the
// library then sends nothing).
func (a *agent) reportConfigStatus(status protobufs.RemoteConfigStatuses, hash []byte, errMsg string) (bool, error) {
	st := &protobufs.RemoteConfigStatus{LastRemoteConfigHash: hash, Status: status, ErrorMessage: errMsg}
	a.mu.Lock()
	changed := !proto.Equal(a.remoteStatus, st)
	a.mu.Unlock()
	err := a.currentClient().SetRemoteConfigStatus(st)
	f := fields{"status": enumName(status.String()), "hash": hex.EncodeToString(hash), "errorMessage": errMsg}
	if err != nil {
		f["error"] = err.Error()
		changed = false
	} else {
		a.mu.Lock()
		a.remoteStatus = st
		a.mu.Unlock()
	}
	a.out.emit("config_status", f)
	return changed, err
}

// availableComponents is a tiny fixed inventory; the library requires one
// before Start when ReportsAvailableComponents is set.
func availableComponents() *protobufs.AvailableComponents {
	hash := sha256.Sum256([]byte("go-agent components v1"))
	return &protobufs.AvailableComponents{
		Hash: hash[:],
		Components: map[string]*protobufs.ComponentDetails{
			"receivers": {SubComponentMap: map[string]*protobufs.ComponentDetails{
				"otlp": {Metadata: []*protobufs.KeyValue{strKV("code.namespace", "go-agent")}},
			}},
			"exporters": {SubComponentMap: map[string]*protobufs.ComponentDetails{
				"debug": {Metadata: []*protobufs.KeyValue{strKV("code.namespace", "go-agent")}},
			}},
		},
	}
}

func strKV(k, v string) *protobufs.KeyValue {
	return &protobufs.KeyValue{Key: k, Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: v}}}
}
