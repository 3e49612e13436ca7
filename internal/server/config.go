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

	BroadcastWait time.Duration // how long a revoke waits for JetStream's ack
	Heartbeat     time.Duration // relay heartbeat interval
	// KeyRate limits each admin key's requests per second (0: off);
	// AuthFailRate limits failed authentications per client address.
	KeyRate, AuthFailRate float64
	// CheckpointEvery and CheckpointInterval pace signed audit checkpoints.
	CheckpointEvery    int64
	CheckpointInterval time.Duration

	SigningKeys string // comma-separated PKCS#8 PEM files; the first signs
	Issuer      string // iss of minted tokens
	Audience    string // aud of minted tokens

	envDurations map[string]*time.Duration
	envErr       error
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
	c.BroadcastWait, c.Heartbeat, c.CheckpointInterval = 250*time.Millisecond, time.Second, 10*time.Minute
	keyRate, _ := strconv.ParseFloat(env("SESSIOND_KEY_RATE", "1000"), 64)
	fs.Float64Var(&c.KeyRate, "key-rate", keyRate, "requests per second each admin key may make, bursts of twice that; 0: no limit (SESSIOND_KEY_RATE)")
	failRate, _ := strconv.ParseFloat(env("SESSIOND_AUTH_FAIL_RATE", "2"), 64)
	fs.Float64Var(&c.AuthFailRate, "auth-fail-rate", failRate, "failed authentications per second a client address may make after a burst of 20; 0: no limit (SESSIOND_AUTH_FAIL_RATE)")
	every, _ := strconv.ParseInt(env("SESSIOND_CHECKPOINT_EVERY", "1000"), 10, 64)
	fs.Int64Var(&c.CheckpointEvery, "checkpoint-every", every, "sign an audit checkpoint after this many events (SESSIOND_CHECKPOINT_EVERY)")
	fs.Func("checkpoint-interval", "sign an audit checkpoint at least this often while events arrive (SESSIOND_CHECKPOINT_INTERVAL; default 10m)", durationFlag(&c.CheckpointInterval))
	fs.Func("broadcast-wait", "how long a revocation waits for JetStream's ack before answering \"pending\" (SESSIOND_BROADCAST_WAIT; default 250ms)", durationFlag(&c.BroadcastWait))
	fs.Func("heartbeat", "interval of sessions.heartbeat (SESSIOND_HEARTBEAT; default 1s)", durationFlag(&c.Heartbeat))
	c.envDurations = map[string]*time.Duration{"SESSIOND_BROADCAST_WAIT": &c.BroadcastWait, "SESSIOND_HEARTBEAT": &c.Heartbeat,
		"SESSIOND_CHECKPOINT_INTERVAL": &c.CheckpointInterval}
	for name, dst := range c.envDurations {
		if v := getenv(name); v != "" {
			c.envErr = durationFlag(dst)(v)
			if c.envErr != nil {
				c.envErr = configError(name, "%v", c.envErr)
			}
		}
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
	if c.KeyRate < 0 || c.AuthFailRate < 0 {
		return configError("--key-rate / --auth-fail-rate", "must not be negative (0 turns the limit off)")
	}
	if c.CheckpointEvery < 1 {
		return configError("--checkpoint-every (SESSIOND_CHECKPOINT_EVERY)", "must be a positive number of events")
	}
	if c.CheckpointInterval <= 0 {
		return configError("--checkpoint-interval (SESSIOND_CHECKPOINT_INTERVAL)", "must be positive")
	}
	if _, err := c.level(); err != nil {
		return err
	}
	return nil
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
