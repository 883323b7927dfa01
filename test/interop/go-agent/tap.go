package main

// The opamp-go client shows its user neither the raw ServerToAgent (flags,
// server capabilities, error_response) nor how many messages went each way,
// and the e2e suite needs both. So the agent watches its own traffic without
// changing it:
//   - plain HTTP: the library's HTTP client clones http.DefaultTransport when it
//     is an *http.Transport and otherwise falls back to http.DefaultTransport at
//     request time, so replacing it with a RoundTripper sees every poll;
//   - WebSocket: the library copies *websocket.DefaultDialer at Start, so a
//     dialer whose NetDialContext wraps the net.Conn sees every byte, and a small
//     frame parser turns those bytes back into OpAMP messages.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

type wireTap struct {
	mu         sync.Mutex
	sent       int
	received   int
	lastSeq    uint64
	lastStatus int // last HTTP status that was not 101/200 (WS handshake or poll)
	waiters    []sentWaiter

	onReceived  func(m *protobufs.ServerToAgent, extra fields)
	onHTTPError func(status int, retryAfter string)
	onWSClosed  func()
	onBadFrame  func(direction string, err error)
}

type sentWaiter struct {
	match func(*protobufs.AgentToServer) bool
	done  chan struct{}
}

func (t *wireTap) install() {
	http.DefaultTransport = &httpTap{base: http.DefaultTransport, t: t}
	// Same defaults as gorilla's DefaultDialer, minus the proxy: the agent only
	// talks to a loopback test server and the frame parser expects a direct stream.
	websocket.DefaultDialer = &websocket.Dialer{HandshakeTimeout: 45 * time.Second, NetDialContext: t.dial}
}

func (t *wireTap) recordSent(m *protobufs.AgentToServer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent++
	t.lastSeq = m.GetSequenceNum()
	keep := t.waiters[:0]
	for _, w := range t.waiters {
		if w.match(m) {
			close(w.done)
		} else {
			keep = append(keep, w)
		}
	}
	t.waiters = keep
}

// expectSent returns a channel closed once a message matching match has been
// written to the server. Register before causing the send to avoid a race.
func (t *wireTap) expectSent(match func(*protobufs.AgentToServer) bool) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := sentWaiter{match: match, done: make(chan struct{})}
	t.waiters = append(t.waiters, w)
	return w.done
}

func (t *wireTap) recordReceived(m *protobufs.ServerToAgent, extra fields) {
	t.mu.Lock()
	t.received++
	t.mu.Unlock()
	t.onReceived(m, extra)
}

func (t *wireTap) recordStatus(status int) {
	t.mu.Lock()
	t.lastStatus = status
	t.mu.Unlock()
}

// takeStatus returns the last failing HTTP status and forgets it, so that a
// later connect_failed without a status (e.g. connection refused) has none.
func (t *wireTap) takeStatus() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.lastStatus
	t.lastStatus = 0
	return s
}

func (t *wireTap) counts() (sent, received int, lastSeq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sent, t.received, t.lastSeq
}

// ---- plain HTTP ----

type httpTap struct {
	base http.RoundTripper
	t    *wireTap
}

func (h *httpTap) RoundTrip(req *http.Request) (*http.Response, error) {
	// Package downloads share the transport; only OpAMP requests are decoded.
	if req.Method != http.MethodPost || !strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-protobuf") {
		return h.base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))

	resp, err := h.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if m, derr := decodeHTTPRequest(body, req.Header.Get("Content-Encoding")); derr == nil {
		h.t.recordSent(m)
	} else {
		h.t.onBadFrame("sent", derr)
	}
	if resp.StatusCode != http.StatusOK {
		h.t.recordStatus(resp.StatusCode)
		h.t.onHTTPError(resp.StatusCode, resp.Header.Get("Retry-After"))
		return resp, nil
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	var m protobufs.ServerToAgent
	if err := proto.Unmarshal(data, &m); err != nil {
		h.t.onBadFrame("received", err)
	} else {
		h.t.recordReceived(&m, fields{"transport": "http", "contentType": resp.Header.Get("Content-Type")})
	}
	return resp, nil
}

func decodeHTTPRequest(body []byte, encoding string) (*protobufs.AgentToServer, error) {
	if strings.EqualFold(encoding, "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	var m protobufs.AgentToServer
	return &m, proto.Unmarshal(body, &m)
}

// ---- WebSocket ----

func (t *wireTap) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &tapConn{Conn: c, t: t}
	tc.in.onHead = tc.onResponseHead
	tc.in.onMessage = func(op byte, payload []byte, err error) {
		var m protobufs.ServerToAgent
		hasHeader, derr := decodeWSMessage(op, payload, err, &m)
		if derr != nil {
			t.onBadFrame("received", derr)
			return
		}
		t.recordReceived(&m, fields{"transport": "ws", "wsHeader": hasHeader})
	}
	tc.out.onHead = func(string) {}
	tc.out.onMessage = func(op byte, payload []byte, err error) {
		var m protobufs.AgentToServer
		if _, derr := decodeWSMessage(op, payload, err, &m); derr != nil {
			t.onBadFrame("sent", derr)
			return
		}
		t.recordSent(&m)
	}
	return tc, nil
}

// decodeWSMessage mirrors opamp-go: an optional varint header that must be 0,
// then the protobuf. It reports whether the header was present.
func decodeWSMessage(op byte, payload []byte, err error, m proto.Message) (bool, error) {
	if err != nil {
		return false, err
	}
	if op != websocket.BinaryMessage {
		return false, fmt.Errorf("websocket frame opcode %d is not binary", op)
	}
	hasHeader := len(payload) > 0 && payload[0] == 0
	if hasHeader {
		hdr, n := binary.Uvarint(payload)
		if n <= 0 || hdr != 0 {
			return true, errors.New("bad websocket message header")
		}
		payload = payload[n:]
	}
	return hasHeader, proto.Unmarshal(payload, m)
}

type tapConn struct {
	net.Conn
	t         *wireTap
	in, out   wsStream
	upgraded  atomic.Bool
	closeOnce sync.Once
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.in.feed(p[:n])
	}
	return n, err
}

func (c *tapConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.out.feed(p[:n])
	}
	return n, err
}

func (c *tapConn) Close() error {
	c.closeOnce.Do(func() {
		if c.upgraded.Load() {
			c.t.onWSClosed()
		}
	})
	return c.Conn.Close()
}

func (c *tapConn) onResponseHead(head string) {
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head)), nil)
	if err != nil {
		return
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		c.upgraded.Store(true)
	} else {
		c.t.recordStatus(resp.StatusCode)
	}
}

// wsStream reassembles WebSocket messages from one direction of a byte stream:
// first the HTTP handshake head, then frames (RFC 6455 §5.2). Client frames are
// masked, server frames are not; fragments are joined; control frames skipped.
// RSV1 marks a permessage-deflate message (no context takeover, as gorilla does).
type wsStream struct {
	buf        []byte
	headDone   bool
	msg        []byte
	msgOp      byte
	compressed bool
	onHead     func(head string)
	onMessage  func(op byte, payload []byte, err error)
}

func (s *wsStream) feed(p []byte) {
	s.buf = append(s.buf, p...)
	if !s.headDone {
		i := bytes.Index(s.buf, []byte("\r\n\r\n"))
		if i < 0 {
			return
		}
		s.onHead(string(s.buf[:i+4]))
		s.buf = s.buf[i+4:]
		s.headDone = true
	}
	for {
		if len(s.buf) < 2 {
			break
		}
		b0, b1 := s.buf[0], s.buf[1]
		fin, rsv1, op := b0&0x80 != 0, b0&0x40 != 0, b0&0x0f
		n, off := uint64(b1&0x7f), 2
		switch n {
		case 126:
			if len(s.buf) < 4 {
				return
			}
			n, off = uint64(binary.BigEndian.Uint16(s.buf[2:4])), 4
		case 127:
			if len(s.buf) < 10 {
				return
			}
			n, off = binary.BigEndian.Uint64(s.buf[2:10]), 10
		}
		var mask []byte
		if b1&0x80 != 0 {
			if len(s.buf) < off+4 {
				return
			}
			mask, off = s.buf[off:off+4], off+4
		}
		if uint64(len(s.buf)-off) < n {
			return
		}
		payload := append([]byte(nil), s.buf[off:off+int(n)]...)
		for i := range payload {
			if mask != nil {
				payload[i] ^= mask[i%4]
			}
		}
		s.buf = s.buf[off+int(n):]

		switch {
		case op >= 8: // close, ping, pong
			continue
		case op == 0:
			s.msg = append(s.msg, payload...)
		default:
			s.msg, s.msgOp, s.compressed = payload, op, rsv1
		}
		if fin {
			msg, err := s.msg, error(nil)
			if s.compressed {
				msg, err = inflate(msg)
			}
			s.onMessage(s.msgOp, msg, err)
			s.msg = nil
		}
	}
	if len(s.buf) == 0 {
		s.buf = nil // let the backing array go
	}
}

func inflate(b []byte) ([]byte, error) {
	// permessage-deflate strips the final empty block; put it back (RFC 7692 §7.2.2).
	r := flate.NewReader(io.MultiReader(bytes.NewReader(b), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff")))
	defer r.Close()
	return io.ReadAll(r)
}
