package server

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/broadcast"
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
	// ConsoleIdle ends a web console session after this long unused.
	ConsoleIdle time.Duration

	Accountability // trusted proxies, personal data, denials, audit stream
	// StreamReplicas is the replica count of the SESSIONS stream (1–5).
	StreamReplicas int
	// StreamMaxConsumers caps the SESSIONS stream's consumers: one per
	// verifier, plus a few.
	StreamMaxConsumers int

	SigningKeys string // comma-separated PKCS#8 PEM files; the first signs
	Issuer      string // iss of minted tokens
	// issuerGuessed is set when no issuer was given and --http-addr did
	// not name a port to derive it from.
	issuerGuessed bool
	Audience      string // aud of minted tokens

	// AuditKeyFile is the audit signing key (empty: <data-dir>/audit-key.pem);
	// WitnessDir, when set, gets a copy of every checkpoint.
	AuditKeyFile, WitnessDir string
	// SSF transmitter: its RSA signing keys (the first signs), the format
	// of user subjects, and the min_verification_interval.
	SSFSigningKeys   string
	SSFUserFormat    string
	SSFVerifyMinimum time.Duration

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
	fs.StringVar(&c.Issuer, "issuer", env("SESSIOND_ISSUER", ""), "iss of session tokens, and the base of jwks_uri in the discovery document; empty: http://localhost:PORT from --http-addr (SESSIOND_ISSUER)")
	fs.StringVar(&c.AuditKeyFile, "audit-key-file", env("SESSIOND_AUDIT_KEY_FILE", ""), "Ed25519 PKCS#8 PEM file that signs audit checkpoints, separate from the token keys; empty: <data-dir>/audit-key.pem, generated on first use (SESSIOND_AUDIT_KEY_FILE)")
	fs.StringVar(&c.WitnessDir, "witness-dir", env("SESSIOND_WITNESS_DIR", ""), "directory whose audit-checkpoints.jws gets every signed checkpoint, one JWS per line, append-only (SESSIOND_WITNESS_DIR)")
	fs.StringVar(&c.Audience, "audience", env("SESSIOND_AUDIENCE", "sessiond"), "aud of session tokens (SESSIOND_AUDIENCE)")
	fs.StringVar(&c.SSFSigningKeys, "ssf-signing-keys", env("SESSIOND_SSF_SIGNING_KEYS", ""), "comma-separated RSA (2048+ bits) PEM files signing SSF SETs (RS256); the first signs, all are published; empty: <data-dir>/ssf-signing-key.pem, generated on first use (SESSIOND_SSF_SIGNING_KEYS)")
	fs.StringVar(&c.SSFUserFormat, "ssf-user-format", env("SESSIOND_SSF_USER_FORMAT", "iss_sub"), "subject format of users in SSF SETs: iss_sub (iss = --issuer, sub = user id), opaque, or email (user ids that are addresses; others iss_sub) (SESSIOND_SSF_USER_FORMAT)")
	c.bindAdminOIDCFlags(fs, env)
	c.BroadcastWait, c.Heartbeat, c.CheckpointInterval = 250*time.Millisecond, time.Second, 10*time.Minute
	c.AdminOIDC.KeysMaxAge = 24 * time.Hour
	c.RequestTimeout = 10 * time.Second
	c.SSFVerifyMinimum = 10 * time.Second
	c.ConsoleIdle = 15 * time.Minute
	c.KeyRate, c.AuthFailRate, c.CheckpointEvery = 1000, 2, 1000
	c.StreamReplicas, c.StreamMaxConsumers = 1, broadcast.DefaultMaxConsumers
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
		{"stream-replicas", "SESSIOND_STREAM_REPLICAS", "replicas of the SESSIONS stream, 1 to 5; more than 1 needs a JetStream cluster (default 1)", replicasFlag(&c.StreamReplicas)},
		{"stream-max-consumers", "SESSIOND_STREAM_MAX_CONSUMERS", "most consumers the SESSIONS stream accepts: one per verifier (default 100000)", intFlag(&c.StreamMaxConsumers)},
		{"checkpoint-interval", "SESSIOND_CHECKPOINT_INTERVAL", "sign an audit checkpoint at least this often while events arrive (default 10m)", durationFlag(&c.CheckpointInterval)},
		{"ssf-min-verification-interval", "SESSIOND_SSF_MIN_VERIFICATION_INTERVAL", "shortest time between SSF verification requests of a stream (default 10s)", durationFlag(&c.SSFVerifyMinimum)},
		{"console-idle-timeout", "SESSIOND_CONSOLE_IDLE_TIMEOUT", "sign a web console session out after this long without a request (default 15m)", durationFlag(&c.ConsoleIdle)},
		{"admin-oidc-keys-max-age", "SESSIOND_ADMIN_OIDC_KEYS_MAX_AGE", "how long an issuer's cached signing keys keep verifying access tokens while the issuer cannot be reached (default 24h)", durationFlag(&c.AdminOIDC.KeysMaxAge)},
	} {
		bindTyped(fs, getenv, c, t.flag, t.env, t.usage, t.set)
	}
	c.bindAccountability(fs, getenv)
}

// bindTyped registers a typed setting: the flag and its environment
// variable share a parser, so a bad value fails either way with one line
// naming the setting.
func bindTyped(fs *flag.FlagSet, getenv func(string) string, c *Config, name, envName, usage string, set func(string) error) {
	fs.Func(name, usage+" ("+envName+")", set)
	if v := getenv(envName); v != "" && c.envErr == nil {
		if err := set(v); err != nil {
			c.envErr = configError("--"+name+" ("+envName+")", "%v", err)
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

// intFlag parses a positive int.
func intFlag(dst *int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive number", v)
		}
		*dst = n
		return nil
	}
}

// replicasFlag parses a JetStream replica count.
func replicasFlag(dst *int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > broadcast.MaxReplicas {
			return fmt.Errorf("%q is not a replica count from 1 to %d", v, broadcast.MaxReplicas)
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
		c.Issuer, c.issuerGuessed = defaultIssuer(c.HTTPAddr)
	}
	if c.Audience == "" {
		return configError("--audience (SESSIOND_AUDIENCE)", "must not be empty")
	}
	if f := c.SSFUserFormat; f != "iss_sub" && f != "opaque" && f != "email" {
		return configError("--ssf-user-format (SESSIOND_SSF_USER_FORMAT)", "%q is not iss_sub, opaque or email", f)
	}
	if c.DataDir == "" {
		return configError("--data-dir (SESSIOND_DATA_DIR)", "must not be empty")
	}
	if _, err := c.level(); err != nil {
		return err
	}
	if err := c.Accountability.validate(); err != nil {
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

// auditKeyPath is the audit signing key's file.
func (c *Config) auditKeyPath() string {
	if c.AuditKeyFile != "" {
		return c.AuditKeyFile
	}
	return filepath.Join(c.DataDir, "audit-key.pem")
}

// redactURL hides a password in a URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// defaultIssuer derives the token issuer from the HTTP listen address: the
// host when it is a name or a routable address, localhost for a wildcard or
// loopback one, and the port. With port 0 there is nothing to derive from:
// it answers http://localhost:8080 and guessed.
func defaultIssuer(httpAddr string) (issuer string, guessed bool) {
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil || port == "" || port == "0" {
		return "http://localhost:8080", true
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && (ip.IsUnspecified() || ip.IsLoopback())) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), false
}
