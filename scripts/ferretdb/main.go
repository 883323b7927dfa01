// Command ferretdb runs FerretDB v1.24 (a MongoDB wire-protocol server, SQLite backend) as the
// local database of OpAMP Commander when no MONGODB_URI is configured.
//
// It wraps FerretDB's embeddable package instead of `go install`ing FerretDB's own command
// because that command refuses to start when built outside FerretDB's repository (it needs a
// generated version file). Two more reasons to own this entry point:
//   - it exits when its standard input closes, so the database never outlives the Node.js
//     process that started it, even when that process is killed;
//   - it prints one "ready <uri>" line once it accepts connections, so the launcher needs no polling.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on")
	dir := flag.String("sqlite-dir", "data/ferretdb", "directory holding the SQLite databases")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	watchStdin := flag.Bool("exit-on-stdin-close", true, "exit when standard input closes")
	flag.Parse()

	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fail("create %s: %v", *dir, err)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fail("bad -log-level %q", *logLevel)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// Pick the port first so that the "ready" line can name it: FerretDB's listener reports
	// its address only after Run has started.
	addr := *listen
	if l, err := net.Listen("tcp", addr); err == nil {
		addr = l.Addr().String()
		_ = l.Close()
	} else {
		fail("listen %s: %v", addr, err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dir + "/",
		Logger:    logger,
	})
	if err != nil {
		fail("start FerretDB: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
			stop()
		}()
	}

	done := make(chan struct{})
	go func() {
		_ = f.Run(ctx)
		close(done)
	}()

	// Announce readiness only once a client can really connect.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			fail("FerretDB did not start listening on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("ready mongodb://%s/\n", addr)

	<-done
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ferretdb: "+format+"\n", args...)
	os.Exit(1)
}
