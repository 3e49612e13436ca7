package server

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// Accountability is the configuration of who-did-what: trusted proxies,
// personal data, refusals, policy and the audit stream.
type Accountability struct {
	// TrustedProxies may name the client in Forwarded/X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// PersonalRetention erases stored IPs and user agents older than this
	// (0: keep until erased by hand).
	PersonalRetention time.Duration
	// RequireReason refuses revocations without a reason.
	RequireReason bool
	// DeniedInterval is how often refused requests are written to the log.
	DeniedInterval time.Duration
	// AuditStream is the JetStream stream the log is mirrored to ("off":
	// no mirror).
	AuditStream string
}

// defaultPersonalRetention is --personal-retention's default.
const defaultPersonalRetention = 90 * 24 * time.Hour

// retentionEvery is how often the retention job runs: hourly, or twice
// per retention period for periods under two hours (at least every
// second).
func retentionEvery(retention time.Duration) time.Duration {
	return min(max(retention/2, time.Second), time.Hour)
}

func (c *Config) bindAccountability(fs *flag.FlagSet, getenv func(string) string) {
	a := &c.Accountability
	a.PersonalRetention, a.DeniedInterval, a.AuditStream = defaultPersonalRetention, app.DefaultDenialInterval, broadcast.AuditStreamName
	bindTyped(fs, getenv, c, "trusted-proxies", "SESSIOND_TRUSTED_PROXIES",
		"comma-separated CIDRs (or addresses) of proxies whose Forwarded / X-Forwarded-For headers name the client; default: none, the headers are ignored", prefixesFlag(&a.TrustedProxies))
	bindTyped(fs, getenv, c, "personal-retention", "SESSIOND_PERSONAL_RETENTION",
		"erase stored source IPs and user agents older than this, e.g. 90d or 720h; 0: never (default 90d)", retentionFlag(&a.PersonalRetention))
	bindTyped(fs, getenv, c, "access-denied-interval", "SESSIOND_ACCESS_DENIED_INTERVAL",
		"how often refused admin requests (401, 403, 429) are written to the log as AccessDenied events (default 10s)", durationFlag(&a.DeniedInterval))
	bindTyped(fs, getenv, c, "audit-stream", "SESSIOND_AUDIT_STREAM",
		"JetStream stream every event is mirrored to as a CloudEvent; off: no mirror (default AUDIT)", streamFlag(&a.AuditStream))
	fs.BoolFunc("require-reason", "refuse revocations without a reason with 400 (SESSIOND_REQUIRE_REASON)", boolFlag(&a.RequireReason))
	if v := getenv("SESSIOND_REQUIRE_REASON"); v != "" && c.envErr == nil {
		if err := boolFlag(&a.RequireReason)(v); err != nil {
			c.envErr = configError("--require-reason (SESSIOND_REQUIRE_REASON)", "%v", err)
		}
	}
}

func (a *Accountability) validate() error { return nil }

func boolFlag(dst *bool) func(string) error {
	return func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*dst = b
		return nil
	}
}

// prefixesFlag parses comma-separated CIDRs; a bare address is its /32
// (or /128).
func prefixesFlag(dst *[]netip.Prefix) func(string) error {
	return func(v string) error {
		var out []netip.Prefix
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			p, err := netip.ParsePrefix(part)
			if err != nil {
				a, aerr := netip.ParseAddr(part)
				if aerr != nil {
					return fmt.Errorf("%q is not a CIDR like 10.0.0.0/8 or an address", part)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			out = append(out, p.Masked())
		}
		*dst = out
		return nil
	}
}

var daysRe = regexp.MustCompile(`^(\d+)d$`)

// retentionFlag parses "90d", a Go duration, or 0 (off).
func retentionFlag(dst *time.Duration) func(string) error {
	return func(v string) error {
		if v == "0" {
			*dst = 0
			return nil
		}
		if m := daysRe.FindStringSubmatch(v); m != nil {
			n, err := strconv.Atoi(m[1])
			if err == nil && n > 0 && n < 100_000 {
				*dst = time.Duration(n) * 24 * time.Hour
				return nil
			}
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a retention like 90d or 720h (0: never erase)", v)
		}
		*dst = d
		return nil
	}
}

var streamNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func streamFlag(dst *string) func(string) error {
	return func(v string) error {
		if v != "off" && !streamNameRe.MatchString(v) {
			return fmt.Errorf("%q is not a JetStream stream name (letters, digits, _ and -) or off", v)
		}
		*dst = v
		return nil
	}
}

// startAccountability starts the denial log's flusher, the personal-data
// retention job and the audit mirror. The returned function stops them,
// flushing the last denials; call it before the store closes.
func (m *Main) startAccountability(db *backend, svc *app.Service, nc *nats.Conn, log *slog.Logger) (*app.DenialLog, func()) {
	a := m.Config.Accountability
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	denials := app.NewDenialLog(svc, 0)
	wg.Add(1)
	go func() { defer wg.Done(); denials.Run(ctx, a.DeniedInterval) }()
	if a.PersonalRetention > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc.RetainPersonal(ctx, db.store, a.PersonalRetention, retentionEvery(a.PersonalRetention))
		}()
	}
	var mirror *broadcast.AuditMirror
	if a.AuditStream != "off" {
		var err error
		mirror, err = broadcast.StartAuditMirror(db.store, db.mirror, nc, broadcast.AuditMirrorOptions{
			Stream: a.AuditStream, Source: m.Config.Issuer, Logger: log.With("subsystem", "audit-mirror")})
		if err != nil {
			log.Error("audit mirror not started", "err", err)
			mirror = nil
		}
	}
	m.mirror = mirror
	return denials, func() {
		if mirror != nil {
			mirror.Close()
		}
		cancel()
		wg.Wait()
	}
}

// cliActorMeta is the metadata of what a CLI command records.
func cliActorMeta(requestID string) app.Meta {
	return app.Meta{Actor: app.CLIActor(), RequestID: requestID, UserAgent: "sessiond-cli"}
}

// recordCLIRead appends the AuditRead of an audit command.
func recordCLIRead(ctx context.Context, svc *app.Service, read domain.AuditRead) error {
	read.Via = "cli"
	if err := svc.RecordRead(ctx, cliActorMeta("cli-audit-"+read.Operation), read); err != nil {
		return fmt.Errorf("the read could not be recorded in the log: %w", err)
	}
	return nil
}

// verifyRead is the AuditRead of an audit verify run.
func verifyRead(from, to int64, rep app.AuditReport) domain.AuditRead {
	read := domain.AuditRead{Operation: "verify", Rows: rep.Chain.Checked, Complete: true, Result: "ok",
		Filters: map[string]string{"from": strconv.FormatInt(from, 10), "to": strconv.FormatInt(to, 10)}}
	switch {
	case len(rep.Breaks) > 0:
		read.Result = "broken"
	case rep.Unsigned:
		read.Result = "unsigned"
	}
	return read
}
