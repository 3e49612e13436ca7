package server

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// embeddedNATS is the in-process nats-server sessiond runs when no
// --nats-url is given: JetStream on, stored in <data-dir>/nats, listening
// on --nats-listen so edge verifiers and the nats CLI can connect.
type embeddedNATS struct {
	srv *server.Server
}

// startEmbeddedNATS starts the server, failing with one line naming
// --nats-listen when the address cannot be used.
func (m *Main) startEmbeddedNATS(log *slog.Logger) (*embeddedNATS, error) {
	const setting = "--nats-listen (SESSIOND_NATS_LISTEN)"
	host, portText, err := net.SplitHostPort(m.Config.NATSListen)
	if err != nil {
		return nil, configError(setting, "%q is not host:port: %v", m.Config.NATSListen, err)
	}
	// Probe the address first: nats-server reports a busy port only in
	// its log. Port 0 picks a free port.
	ln, err := net.Listen("tcp", m.Config.NATSListen)
	if err != nil {
		return nil, configError(setting, "cannot listen on %s: %v (is another NATS running? set --nats-url to use it, or pick another address)", m.Config.NATSListen, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if portText != "0" {
		port, _ = strconv.Atoi(portText)
	}
	opts := &server.Options{
		ServerName: "sessiond-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Join(m.Config.DataDir, "nats"),
		NoSigs:     true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, configError(setting, "embedded NATS: %v", err)
	}
	srv.SetLoggerV2(natsLogger{log.With("subsystem", "nats-server")}, false, false, false)
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, configError(setting, "embedded NATS did not start on %s", net.JoinHostPort(host, strconv.Itoa(port)))
	}
	log.Info("embedded NATS serving", "listen", srv.ClientURL(), "store", opts.StoreDir)
	return &embeddedNATS{srv: srv}, nil
}

// URL is the client URL of the embedded server.
func (e *embeddedNATS) URL() string { return e.srv.ClientURL() }

// Close shuts the server down and waits for it.
func (e *embeddedNATS) Close() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// natsLogger sends nats-server's log lines to slog; notices are debug.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
