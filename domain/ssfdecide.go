package domain

import (
	"encoding/json"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// SSF limits.
const (
	MaxSSFDescription = 512 // characters
	MaxSSFAudience    = 16  // values
	MaxSSFString      = 512 // characters of an audience value, state or reason
	MaxSSFSubject     = 2048
)

// DecideSSFCreate validates a new stream's configuration (the id is the
// caller's) and returns its event. EventsDelivered is computed here.
func DecideSSFCreate(r *SSFRegistry, cfg SSFStreamConfig, now time.Time) (*SSFStreamCreated, error) {
	if r.Get(cfg.StreamID) != nil {
		return nil, Errorf(CodeConflict, "ssf stream %s already exists", cfg.StreamID)
	}
	if err := completeSSFConfig(&cfg); err != nil {
		return nil, err
	}
	return &SSFStreamCreated{Config: cfg, CreatedAt: normalize(now)}, nil
}

// DecideSSFUpdate validates a stream's new whole configuration (after a
// PATCH merge, or a PUT) and returns its event. The audience cannot change.
func DecideSSFUpdate(r *SSFRegistry, cfg SSFStreamConfig, replace bool, now time.Time) (*SSFStreamUpdated, error) {
	s, err := r.Live(cfg.StreamID)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(cfg.Audience, s.Config.Audience) {
		return nil, Errorf(CodeValidation, "aud cannot be changed")
	}
	if cfg.Delivery.Method != s.Config.Delivery.Method {
		return nil, Errorf(CodeValidation, "delivery.method cannot be changed; create a new stream")
	}
	if cfg.Delivery.Method == DeliveryPoll {
		cfg.Delivery.EndpointURL = s.Config.Delivery.EndpointURL // transmitter-supplied
	}
	cfg.Owner = s.Config.Owner
	if err := completeSSFConfig(&cfg); err != nil {
		return nil, err
	}
	return &SSFStreamUpdated{Config: cfg, Replace: replace, UpdatedAt: normalize(now)}, nil
}

// DecideSSFStatus changes a stream's status. Setting the status it already
// has yields no event.
func DecideSSFStatus(r *SSFRegistry, id, status, reason string, byTransmitter bool, now time.Time) (*SSFStreamStatusChanged, error) {
	s, err := r.Live(id)
	if err != nil {
		return nil, err
	}
	if status != SSFEnabled && status != SSFPaused && status != SSFDisabled {
		return nil, Errorf(CodeValidation, "status must be enabled, paused or disabled")
	}
	if err := checkSSFString("reason", reason); err != nil {
		return nil, err
	}
	if s.Status == status && s.Reason == reason {
		return nil, nil
	}
	return &SSFStreamStatusChanged{ID: id, Status: status, Reason: reason, Transmitter: byTransmitter, ChangedAt: normalize(now)}, nil
}

// DecideSSFDelete deletes a stream.
func DecideSSFDelete(r *SSFRegistry, id string, now time.Time) (*SSFStreamDeleted, error) {
	if _, err := r.Live(id); err != nil {
		return nil, err
	}
	return &SSFStreamDeleted{ID: id, DeletedAt: normalize(now)}, nil
}

// DecideSSFSubject adds (add true) or removes a subject.
func DecideSSFSubject(r *SSFRegistry, id string, subject json.RawMessage, add bool, verified *bool, now time.Time) (Event, error) {
	if _, err := r.Live(id); err != nil {
		return nil, err
	}
	if err := ValidateSSFSubject(subject); err != nil {
		return nil, err
	}
	c := canonicalJSON(subject)
	if add {
		return SSFSubjectAdded{ID: id, Subject: c, Verified: verified, At: normalize(now)}, nil
	}
	return SSFSubjectRemoved{ID: id, Subject: c, At: normalize(now)}, nil
}

// DecideSSFVerify requests a verification event; last is the stream's
// previous request (nil if none). Requests closer together than
// minInterval are RATE_LIMITED (SSF min_verification_interval).
func DecideSSFVerify(r *SSFRegistry, id, state string, last *SSFVerificationRequested, minInterval time.Duration, now time.Time) (*SSFVerificationRequested, error) {
	if _, err := r.Live(id); err != nil {
		return nil, err
	}
	if err := checkSSFString("state", state); err != nil {
		return nil, err
	}
	if last != nil && now.Sub(last.RequestedAt) < minInterval {
		return nil, Errorf(CodeRateLimited, "verification was requested less than %v ago (min_verification_interval)", minInterval)
	}
	return &SSFVerificationRequested{ID: id, State: state, RequestedAt: normalize(now)}, nil
}

// ValidateSSFSubject checks that subject is an RFC 9493 subject identifier
// or an SSF complex subject of them.
func ValidateSSFSubject(subject json.RawMessage) error {
	if len(subject) > MaxSSFSubject {
		return Errorf(CodeValidation, "subject is longer than %d bytes", MaxSSFSubject)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(subject, &m); err != nil || m == nil {
		return Errorf(CodeValidation, "subject must be a JSON object")
	}
	var format string
	if err := json.Unmarshal(m["format"], &format); err != nil || format == "" {
		return Errorf(CodeValidation, "subject.format is required")
	}
	required := map[string][]string{
		"email": {"email"}, "iss_sub": {"iss", "sub"}, "opaque": {"id"},
		"phone_number": {"phone_number"}, "account": {"uri"}, "did": {"url"}, "uri": {"uri"},
	}
	if format == "complex" {
		if len(m) < 2 {
			return Errorf(CodeValidation, "a complex subject needs at least one member")
		}
		for k, v := range m {
			if k == "format" {
				continue
			}
			if err := ValidateSSFSubject(v); err != nil {
				return Errorf(CodeValidation, "subject.%s: %s", k, ErrorMessage(err))
			}
		}
		return nil
	}
	for _, f := range required[format] {
		var v string
		if err := json.Unmarshal(m[f], &v); err != nil || v == "" {
			return Errorf(CodeValidation, "a %s subject needs %s", format, f)
		}
	}
	return nil
}

// completeSSFConfig validates cfg and fills EventsDelivered: the requested
// events this transmitter supports (all of them when none are requested).
// Unknown requested events are ignored, as SSF says.
func completeSSFConfig(cfg *SSFStreamConfig) error {
	if cfg.StreamID == "" {
		return Errorf(CodeValidation, "stream_id must not be empty")
	}
	if n := len(cfg.Audience); n == 0 || n > MaxSSFAudience {
		return Errorf(CodeValidation, "aud must hold 1 to %d values", MaxSSFAudience)
	}
	for _, a := range cfg.Audience {
		if a == "" {
			return Errorf(CodeValidation, "aud values must not be empty")
		}
		if err := checkSSFString("aud", a); err != nil {
			return err
		}
	}
	if utf8.RuneCountInString(cfg.Description) > MaxSSFDescription || !utf8.ValidString(cfg.Description) {
		return Errorf(CodeValidation, "description must be at most %d characters", MaxSSFDescription)
	}
	switch cfg.Delivery.Method {
	case DeliveryPush:
		if err := ValidateSSFEndpoint(cfg.Delivery.EndpointURL); err != nil {
			return err
		}
	case DeliveryPoll:
		if cfg.Delivery.AuthorizationHeader != "" {
			return Errorf(CodeValidation, "delivery.authorization_header is only for push delivery")
		}
	default:
		return Errorf(CodeValidation, "delivery.method must be %s (push) or %s (poll)", DeliveryPush, DeliveryPoll)
	}
	cfg.EventsDelivered = nil
	for _, e := range SSFEventsSupported {
		if len(cfg.EventsRequested) == 0 || slices.Contains(cfg.EventsRequested, e) {
			cfg.EventsDelivered = append(cfg.EventsDelivered, e)
		}
	}
	if cfg.EventsRequested == nil {
		cfg.EventsRequested = []string{}
	}
	return nil
}

// ValidateSSFEndpoint accepts an absolute https URL, or http to a loopback
// host (for development and tests).
func ValidateSSFEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil {
		return Errorf(CodeValidation, "delivery.endpoint_url must be an absolute URL without credentials or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost") {
			return nil
		}
	}
	return Errorf(CodeValidation, "delivery.endpoint_url must use https (http only to a loopback address)")
}

func checkSSFString(field, v string) error {
	if utf8.RuneCountInString(v) > MaxSSFString || !utf8.ValidString(v) {
		return Errorf(CodeValidation, "%s must be at most %d characters", field, MaxSSFString)
	}
	return nil
}
