package server

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sessiond/sessiond/ssf/receiver"
)

// runSSFReceive is a small SSF push receiver: it discovers the transmitter,
// validates every SET it is pushed (package receiver) and prints each new
// one as a JSON line on stdout until ctx ends.
func (m *Main) runSSFReceive(ctx context.Context, args []string) error {
	var transmitter, listen, audience, authorization string
	if _, err := m.flags("ssf-receive", "sessiond ssf-receive --transmitter URL --aud AUD [--listen ADDR] [--authorization VALUE]", args, func(fs *flag.FlagSet) {
		fs.StringVar(&transmitter, "transmitter", "http://localhost:8080", "the transmitter's issuer URL; its /.well-known/ssf-configuration is read")
		fs.StringVar(&listen, "listen", "127.0.0.1:9000", "address to receive pushed SETs on (POST to any path)")
		fs.StringVar(&audience, "aud", "", "the stream's aud: SETs must name it")
		fs.StringVar(&authorization, "authorization", "", "Authorization header value the transmitter must send (the stream's authorization_header)")
	}); err != nil {
		return err
	}
	if audience == "" {
		return &ExitError{Code: 2, Err: errors.New("ssf-receive needs --aud")}
	}
	meta, err := discoverSSF(ctx, strings.TrimRight(transmitter, "/"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	rcv := receiver.New(receiver.Config{Issuer: meta.Issuer, Audience: []string{audience}, JWKSURL: meta.JWKSURI})
	var mu sync.Mutex
	enc := json.NewEncoder(m.Stdout)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: rcv.Handler(authorization, func(s *receiver.SET) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(map[string]any{"jti": s.JTI, "iss": s.Issuer, "aud": s.Audience, "iat": s.IssuedAt.UTC().Format(time.RFC3339),
			"txn": s.TXN, "sub_id": s.Subject, "event_type": s.EventType, "event": s.Event})
	})}
	m.Logger.Info("ssf-receive listening", "listen", ln.Addr().String(), "issuer", meta.Issuer, "jwks_uri", meta.JWKSURI)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type ssfMetadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// discoverSSF reads a transmitter's configuration metadata; its issuer
// must be the URL it was read from (SSF 1.0 section 7.2).
func discoverSSF(ctx context.Context, issuer string) (ssfMetadata, error) {
	var meta ssfMetadata
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/ssf-configuration", nil)
	if err != nil {
		return meta, fmt.Errorf("--transmitter: %w", err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return meta, fmt.Errorf("ssf discovery: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return meta, fmt.Errorf("ssf discovery: HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(body, &meta); err != nil {
		return meta, fmt.Errorf("ssf discovery: %w", err)
	}
	if meta.Issuer != issuer || meta.JWKSURI == "" {
		return meta, fmt.Errorf("ssf discovery: issuer %q does not match %q, or no jwks_uri", meta.Issuer, issuer)
	}
	return meta, nil
}
