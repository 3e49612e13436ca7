package server

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is sessiond's configuration (contract section 2). Flags win over
// environment variables.
type Config struct {
	HTTPAddr    string
	DatabaseURL string
	NATSURL     string
	NATSListen  string
	DataDir     string
	LogLevel    string
	NoMigrate   bool

	RequestTimeout time.Duration // deadline of an admin request, key lookup included
	BroadcastWait  time.Duration // how long a revoke waits for JetStream's ack
	Heartbeat      time.Duration // relay heartbeat interval
	// KeyRate limits each admin key's requests per second (0: off);
	// AuthFailRate limits failed authentications per client address.
	KeyRate, AuthFailRate float64
	// CheckpointEvery and CheckpointInterval pace signed audit checkpoints.
	CheckpointEvery    int64
	CheckpointInterval time.Duration

	SigningKeys string // comma-separated PKCS#8 PEM files; the first signs
	Issuer      string // iss of minted tokens
	Audience    string // aud of minted tokens

	AdminOIDC AdminOIDC // people on the admin API (--admin-oidc-*)

	envErr error
}

// bindFlags registers the configuration flags on fs, with defaults taken
// from the environment.
func (c *Config) bindFlags(fs *flag.FlagSet, getenv func(string) string) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.HTTPAddr, "http-addr", env("SESSIOND_HTTP_ADDR", ":8080"), "HTTP listen address (SESSIOND_HTTP_ADDR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "postgres:// URL; empty selects the embedded store (DATABASE_URL)")
	fs.StringVar(&c.NATSURL, "nats-url", env("NATS_URL", ""), "NATS URL; empty starts an embedded NATS server (NATS_URL)")
	fs.StringVar(&c.NATSListen, "nats-listen", env("SESSIOND_NATS_LISTEN", "127.0.0.1:4222"), "listen address of the embedded NATS server (SESSIOND_NATS_LISTEN)")
	fs.StringVar(&c.DataDir, "data-dir", env("SESSIOND_DATA_DIR", "./data"), "data directory (SESSIOND_DATA_DIR)")
	fs.StringVar(&c.LogLevel, "log-level", env("SESSIOND_LOG_LEVEL", "info"), "debug, info, warn or error (SESSIOND_LOG_LEVEL)")
	fs.StringVar(&c.SigningKeys, "signing-keys", env("SESSIOND_SIGNING_KEYS", ""), "comma-separated Ed25519 PKCS#8 PEM files; the first signs, all are published; empty: <data-dir>/signing-key.pem, generated on first use (SESSIOND_SIGNING_KEYS)")
	fs.StringVar(&c.Issuer, "issuer", env("SESSIOND_ISSUER", "http://localhost:8080"), "iss of session tokens, and the base of jwks_uri in the discovery document (SESSIOND_ISSUER)")
	fs.StringVar(&c.Audience, "audience", env("SESSIOND_AUDIENCE", "sessiond"), "aud of session tokens (SESSIOND_AUDIENCE)")
	c.bindAdminOIDCFlags(fs, env)
	c.BroadcastWait, c.Heartbeat, c.CheckpointInterval = 250*time.Millisecond, time.Second, 10*time.Minute
	c.AdminOIDC.KeysMaxAge = 24 * time.Hour
	c.RequestTimeout = 10 * time.Second
	c.KeyRate, c.AuthFailRate, c.CheckpointEvery = 1000, 2, 1000
	// Typed settings: the flag and its environment variable share a parser,
	// so a bad value fails either way with one line naming the setting.
	for _, t := range []struct {
		flag, env, usage string
		set              func(string) error
	}{
		{"request-timeout", "SESSIOND_REQUEST_TIMEOUT", "deadline of an admin request, admin-key lookup and store work included; past it the answer is 503 (default 10s)", durationFlag(&c.RequestTimeout)},
		{"broadcast-wait", "SESSIOND_BROADCAST_WAIT", "how long a revocation waits for JetStream's ack before answering \"pending\" (default 250ms)", durationFlag(&c.BroadcastWait)},
		{"heartbeat", "SESSIOND_HEARTBEAT", "interval of sessions.heartbeat (default 1s)", durationFlag(&c.Heartbeat)},
		{"key-rate", "SESSIOND_KEY_RATE", "requests per second each admin key may make, bursts of twice that; 0: no limit (default 1000)", rateFlag(&c.KeyRate)},
		{"auth-fail-rate", "SESSIOND_AUTH_FAIL_RATE", "failed authentications per second a client address may make after a burst of 20; 0: no limit (default 2)", rateFlag(&c.AuthFailRate)},
		{"checkpoint-every", "SESSIOND_CHECKPOINT_EVERY", "sign an audit checkpoint after this many events (default 1000)", countFlag(&c.CheckpointEvery)},
		{"checkpoint-interval", "SESSIOND_CHECKPOINT_INTERVAL", "sign an audit checkpoint at least this often while events arrive (default 10m)", durationFlag(&c.CheckpointInterval)},
		{"admin-oidc-keys-max-age", "SESSIOND_ADMIN_OIDC_KEYS_MAX_AGE", "how long an issuer's cached signing keys keep verifying access tokens while the issuer cannot be reached (default 24h)", durationFlag(&c.AdminOIDC.KeysMaxAge)},
	} {
		fs.Func(t.flag, t.usage+" ("+t.env+")", t.set)
		if v := getenv(t.env); v != "" && c.envErr == nil {
			if err := t.set(v); err != nil {
				c.envErr = configError("--"+t.flag+" ("+t.env+")", "%v", err)
			}
		}
	}
}

// rateFlag parses a non-negative rate (0 turns a limit off).
func rateFlag(dst *float64) func(string) error {
	return func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f != f {
			return fmt.Errorf("%q is not a non-negative number of requests per second (0: no limit)", v)
		}
		*dst = f
		return nil
	}
}

// countFlag parses a positive count.
func countFlag(dst *int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive number", v)
		}
		*dst = n
		return nil
	}
}

func durationFlag(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration like 250ms", v)
		}
		*dst = d
		return nil
	}
}

// errConfig marks configuration errors: one line naming the setting.
var errConfig = errors.New("configuration")

func configError(setting, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", errConfig, setting, fmt.Sprintf(format, args...))
}

// validate checks every setting and names the first bad one.
func (c *Config) validate() error {
	if c.envErr != nil {
		return c.envErr
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return configError("--http-addr (SESSIOND_HTTP_ADDR)", "%q is not host:port", c.HTTPAddr)
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return configError("--database-url (DATABASE_URL)", "want a postgres:// or postgresql:// URL")
		}
	}
	if c.NATSURL != "" {
		for _, part := range strings.Split(c.NATSURL, ",") {
			u, err := url.Parse(strings.TrimSpace(part))
			if err != nil || (u.Scheme != "nats" && u.Scheme != "tls" && u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
				return configError("--nats-url (NATS_URL)", "want nats://host:port (comma-separated for a cluster)")
			}
		}
	}
	if _, _, err := net.SplitHostPort(c.NATSListen); err != nil {
		return configError("--nats-listen (SESSIOND_NATS_LISTEN)", "%q is not host:port", c.NATSListen)
	}
	if c.Issuer == "" {
		return configError("--issuer (SESSIOND_ISSUER)", "must not be empty")
	}
	if c.Audience == "" {
		return configError("--audience (SESSIOND_AUDIENCE)", "must not be empty")
	}
	if c.DataDir == "" {
		return configError("--data-dir (SESSIOND_DATA_DIR)", "must not be empty")
	}
	if _, err := c.level(); err != nil {
		return err
	}
	return c.validateAdminOIDC()
}

func (c *Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, configError("--log-level (SESSIOND_LOG_LEVEL)", "%q is not debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// redactURL hides a password in a URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
