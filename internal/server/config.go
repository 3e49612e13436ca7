package server

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
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
}

// errConfig marks configuration errors: one line naming the setting.
var errConfig = errors.New("configuration")

func configError(setting, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", errConfig, setting, fmt.Sprintf(format, args...))
}

// validate checks every setting and names the first bad one.
func (c *Config) validate() error {
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
	if c.DataDir == "" {
		return configError("--data-dir (SESSIOND_DATA_DIR)", "must not be empty")
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

// requirePostgres fails while the embedded store is not available.
func (c *Config) requirePostgres() error {
	if c.DatabaseURL == "" {
		return configError("--database-url (DATABASE_URL)", "the embedded store is not built yet; set a postgres:// URL")
	}
	return nil
}

// redactURL hides a password in a URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
