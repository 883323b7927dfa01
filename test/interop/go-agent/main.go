// Command go-agent is an OpAMP test agent built on the opamp-go client library.
// The e2e suite spawns it, reads one JSON event per line from stdout, writes one
// JSON command per line to stdin, and finds the library's own logs on stderr.
// README.md beside this file lists the flags, events and commands.
package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
)

const defaultCapabilities = "ReportsStatus,AcceptsRemoteConfig,ReportsEffectiveConfig,ReportsHealth," +
	"ReportsRemoteConfig,ReportsHeartbeat,AcceptsRestartCommand"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out := &emitter{w: stdout}
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "go-agent:", err)
		out.emit("fatal", fields{"error": err.Error()})
		return 2
	}

	a := newAgent(opts, out, stderrLogger{log.New(stderr, "opamp-go ", log.LstdFlags|log.Lmicroseconds)})
	a.tap.install()
	// "started" first: the client's callbacks may fire as soon as Start runs.
	out.emit("started", fields{
		"uid":                uuid.UUID(opts.uid).String(),
		"uidHex":             hex.EncodeToString(opts.uid[:]),
		"transport":          opts.transport,
		"url":                opts.url,
		"capabilities":       uint64(opts.caps),
		"capabilityNames":    capabilityNames(uint64(opts.caps)),
		"customCapabilities": opts.customCaps,
		"pid":                os.Getpid(),
		"opampGo":            opampGoVersion(),
	})
	if err := a.startClient(); err != nil {
		out.emit("fatal", fields{"error": err.Error()})
		return 2
	}

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines) // EOF means stop
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return a.shutdown("stdin closed")
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			if stop := a.handleCommand(line); stop {
				return a.shutdown("stop command")
			}
		case sig := <-signals:
			return a.shutdown(sig.String())
		}
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("go-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var headers, attrs, customCaps listFlag
	urlFlag := fs.String("url", "", "OpAMP endpoint: ws://host:port/v1/opamp or http://host:port/v1/opamp")
	uidFlag := fs.String("uid", "", "instance uid as UUID text (default: a new UUIDv7)")
	fs.Var(&headers, "header", "extra request header 'Key: Value' (repeatable)")
	serviceName := fs.String("service-name", "opamp-interop-go-agent", "identifying attribute service.name")
	serviceVersion := fs.String("service-version", "1.0.0", "identifying attribute service.version")
	hostName := fs.String("host-name", "", "non-identifying attribute host.name (default: os.Hostname)")
	fs.Var(&attrs, "attr", "extra non-identifying attribute k=v (repeatable)")
	capsFlag := fs.String("capabilities", defaultCapabilities, "comma list of AgentCapabilities short names")
	heartbeat := fs.Int("heartbeat", -1, "heartbeat / HTTP polling interval in seconds (default: library's 30 s; 0 disables WS heartbeats)")
	effective := fs.String("effective-config", "receivers: {}\nexporters: {}\nservice:\n  pipelines: {}\n",
		"initial effective config (key \"\"): a file path or the YAML text itself")
	autoApply := fs.Bool("auto-apply", true, "apply received remote config and report APPLYING then APPLIED/FAILED")
	failContaining := fs.String("fail-configs-containing", "", "report FAILED for a remote config whose body contains this string")
	appliedEffective := fs.String("applied-effective-config", "", "after applying a remote config, report this as the effective config instead of the config received (a supervisor whose merge dropped the pipelines)")
	applyDelay := fs.Int("apply-delay-ms", 0, "pause between reporting APPLYING and the final status")
	requestNewUID := fs.Bool("request-new-uid", false, "set RequestInstanceUid on the first message")
	fs.Var(&customCaps, "custom-capability", "custom capability name (repeatable)")
	compression := fs.Bool("compression", false, "WS: offer permessage-deflate; HTTP: gzip request bodies")
	downloadCA := fs.String("download-ca", "", "PEM file of certificates trusted (besides the system's) for https package downloads")
	failSettings := fs.String("fail-connection-settings-containing", "", "refuse connection settings (FAILED) naming an endpoint that contains this string")
	followOpamp := fs.Bool("follow-opamp-endpoint", false, "reconnect to the OpAMP endpoint an offer names (stdin reconnect moves back)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	o := options{
		url:              *urlFlag,
		headers:          http.Header{},
		autoApply:        *autoApply,
		failContaining:   *failContaining,
		appliedEffective: *appliedEffective,
		applyDelay:       time.Duration(*applyDelay) * time.Millisecond,
		requestNewUID:    *requestNewUID,
		customCaps:       customCaps,
		compression:      *compression,

		failSettingsContaining: *failSettings,
		followOpampEndpoint:    *followOpamp,
	}
	if o.customCaps == nil {
		o.customCaps = []string{}
	}
	if *downloadCA != "" {
		pem, err := os.ReadFile(*downloadCA)
		if err != nil {
			return o, fmt.Errorf("--download-ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("--download-ca %s holds no PEM certificate", *downloadCA)
		}
		o.downloadCA = pool
	}
	u, err := url.Parse(o.url)
	if err != nil || o.url == "" {
		return o, fmt.Errorf("--url must be a ws:// or http:// URL, got %q", o.url)
	}
	switch u.Scheme {
	case "ws":
		o.transport = "ws"
	case "http":
		o.transport = "http"
	default:
		// wss/https would hide the bytes the wire tap reads (see tap.go).
		return o, fmt.Errorf("--url scheme %q is not supported (use ws or http)", u.Scheme)
	}

	if *uidFlag == "" {
		if o.uid, err = uuid.NewV7(); err != nil {
			return o, err
		}
	} else if o.uid, err = uuid.Parse(*uidFlag); err != nil {
		return o, fmt.Errorf("--uid: %w", err)
	}

	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return o, fmt.Errorf("--header %q is not 'Key: Value'", h)
		}
		o.headers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}

	if *hostName == "" {
		*hostName, _ = os.Hostname()
	}
	o.identifying = []*protobufs.KeyValue{strKV("service.name", *serviceName), strKV("service.version", *serviceVersion)}
	o.nonIdentifying = []*protobufs.KeyValue{strKV("host.name", *hostName), strKV("os.type", runtime.GOOS)}
	for _, kv := range attrs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return o, fmt.Errorf("--attr %q is not k=v", kv)
		}
		o.nonIdentifying = append(o.nonIdentifying, strKV(k, v))
	}

	if o.caps, err = parseCapabilities(*capsFlag); err != nil {
		return o, err
	}
	if *heartbeat >= 0 {
		d := time.Duration(*heartbeat) * time.Second
		o.heartbeat = &d
	}

	o.effectiveConfig = *effective
	if b, err := os.ReadFile(*effective); err == nil {
		o.effectiveConfig = string(b)
	}
	return o, nil
}

func parseCapabilities(list string) (protobufs.AgentCapabilities, error) {
	caps := protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus // the library forces it anyway
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		bit, ok := protobufs.AgentCapabilities_value["AgentCapabilities_"+name]
		if !ok {
			return 0, fmt.Errorf("--capabilities: unknown capability %q", name)
		}
		caps |= protobufs.AgentCapabilities(bit)
	}
	return caps, nil
}

// command is one line of stdin; each cmd uses only some fields.
type command struct {
	Cmd          string  `json:"cmd"`
	Healthy      *bool   `json:"healthy"`
	Status       string  `json:"status"`
	LastError    string  `json:"lastError"`
	Body         *string `json:"body"`
	ContentType  string  `json:"contentType"`
	Key          string  `json:"key"`
	Value        *string `json:"value"`
	Identifying  *bool   `json:"identifying"`
	Capability   string  `json:"capability"`
	Type         string  `json:"type"`
	Data         string  `json:"data"`
	Hash         string  `json:"hash"`
	ErrorMessage string  `json:"errorMessage"`
	URL          string  `json:"url"`
}

// handleCommand runs one stdin command and answers with ack/error (or stats).
// It returns true for stop.
func (a *agent) handleCommand(line string) bool {
	var c command
	if err := json.Unmarshal([]byte(line), &c); err != nil {
		a.out.emit("error", fields{"during": "command", "error": "bad JSON: " + err.Error()})
		return false
	}
	var err error
	switch c.Cmd {
	case "stop":
		return true
	case "stats":
		sent, received, lastSeq := a.tap.counts()
		a.mu.Lock()
		uid, connected := a.uid, a.connected
		a.mu.Unlock()
		a.out.emit("stats", fields{"sent": sent, "received": received, "lastSequenceNum": lastSeq,
			"instanceUid": uuid.UUID(uid).String(), "connected": connected, "transport": a.opts.transport})
		return false
	case "set_health":
		err = a.setHealth(c)
	case "set_effective_config":
		err = a.setEffectiveConfig(c)
	case "set_attr":
		err = a.setAttr(c)
	case "send_custom_message":
		err = a.sendCustomMessage(c)
	case "set_config_status":
		err = a.setConfigStatus(c)
	case "reconnect":
		// Back to --url (or to `url`): an agent giving up on an endpoint it could not reach.
		target := c.URL
		if target == "" {
			target = a.opts.url
		}
		a.moveTo(target, "reconnect command")
	default:
		err = fmt.Errorf("unknown cmd %q", c.Cmd)
	}
	if err != nil {
		a.out.emit("error", fields{"cmd": c.Cmd, "error": err.Error()})
	} else {
		a.out.emit("ack", fields{"cmd": c.Cmd})
	}
	return false
}

func (a *agent) setHealth(c command) error {
	if a.opts.caps&capReportsHealth == 0 {
		return errors.New("ReportsHealth capability is not set") // the library would send it anyway
	}
	now := uint64(time.Now().UnixNano())
	a.mu.Lock()
	h := &protobufs.ComponentHealth{
		Healthy:            c.Healthy == nil || *c.Healthy,
		StartTimeUnixNano:  a.health.GetStartTimeUnixNano(),
		LastError:          c.LastError,
		Status:             c.Status,
		StatusTimeUnixNano: now,
	}
	a.health = h
	a.mu.Unlock()
	return a.currentClient().SetHealth(h)
}

func (a *agent) setEffectiveConfig(c command) error {
	if c.Body == nil {
		return errors.New("body is required")
	}
	ct := c.ContentType
	if ct == "" {
		ct = "text/yaml"
	}
	a.mu.Lock()
	a.effective = map[string]*protobufs.AgentConfigFile{"": {Body: []byte(*c.Body), ContentType: ct}}
	a.mu.Unlock()
	return a.currentClient().UpdateEffectiveConfig(context.Background())
}

// setAttr sets (or, without "value", removes) one description attribute.
// service.* keys are identifying unless "identifying" says otherwise.
func (a *agent) setAttr(c command) error {
	if c.Key == "" {
		return errors.New("key is required")
	}
	identifying := strings.HasPrefix(c.Key, "service.")
	if c.Identifying != nil {
		identifying = *c.Identifying
	}
	without := func(list []*protobufs.KeyValue) []*protobufs.KeyValue {
		out := []*protobufs.KeyValue{}
		for _, kv := range list {
			if kv.GetKey() != c.Key {
				out = append(out, kv)
			}
		}
		return out
	}
	a.mu.Lock()
	d := &protobufs.AgentDescription{
		IdentifyingAttributes:    without(a.description.GetIdentifyingAttributes()),
		NonIdentifyingAttributes: without(a.description.GetNonIdentifyingAttributes()),
	}
	if c.Value != nil {
		if identifying {
			d.IdentifyingAttributes = append(d.IdentifyingAttributes, strKV(c.Key, *c.Value))
		} else {
			d.NonIdentifyingAttributes = append(d.NonIdentifyingAttributes, strKV(c.Key, *c.Value))
		}
	}
	a.description = d
	a.mu.Unlock()
	return a.currentClient().SetAgentDescription(d)
}

// sendCustomMessage returns once the message has left the library's queue, so
// that the ack means "sent". The library holds one custom message at a time.
func (a *agent) sendCustomMessage(c command) error {
	msg := &protobufs.CustomMessage{Capability: c.Capability, Type: c.Type, Data: []byte(c.Data)}
	for attempt := 0; attempt < 2; attempt++ {
		ch, err := a.currentClient().SendCustomMessage(msg)
		if err != nil && !errors.Is(err, types.ErrCustomMessagePending) {
			return err
		}
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			return errors.New("custom message not sent within 10s")
		}
		if err == nil {
			return nil
		}
	}
	return types.ErrCustomMessagePending
}

// setConfigStatus lets a test report a status by hand (with --auto-apply=false).
func (a *agent) setConfigStatus(c command) error {
	v, ok := protobufs.RemoteConfigStatuses_value["RemoteConfigStatuses_"+strings.ToUpper(c.Status)]
	if !ok {
		return fmt.Errorf("unknown status %q", c.Status)
	}
	hash, err := hex.DecodeString(c.Hash)
	if err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	_, err = a.reportConfigStatus(protobufs.RemoteConfigStatuses(v), hash, c.ErrorMessage)
	return err
}

func (a *agent) shutdown(reason string) int {
	mode, stopErr, disconnectErr := a.stopClient(a.currentClient())
	sent, received, _ := a.tap.counts()
	f := fields{"reason": reason, "agentDisconnect": mode, "sent": sent, "received": received}
	if disconnectErr != nil { // e.g. the server is gone: no reason to fail the exit
		f["disconnectError"] = disconnectErr.Error()
	}
	code := 0
	if stopErr != nil {
		f["error"] = stopErr.Error()
		code = 1
	}
	a.out.emit("stopped", f)
	return code
}

type stderrLogger struct{ l *log.Logger }

func (s stderrLogger) Debugf(_ context.Context, format string, v ...any) {
	s.l.Printf("DEBUG "+format, v...)
}

func (s stderrLogger) Errorf(_ context.Context, format string, v ...any) {
	s.l.Printf("ERROR "+format, v...)
}

func opampGoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/open-telemetry/opamp-go" {
				return d.Version
			}
		}
	}
	return "unknown"
}
