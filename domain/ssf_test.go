package domain_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
)

func ssfRegistry(t *testing.T, events ...domain.Event) *domain.SSFRegistry {
	t.Helper()
	r := domain.NewSSFRegistry()
	for i, e := range events {
		if err := r.Apply(e, int64(i+1), int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

var ssfT0 = time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)

func pushConfig() domain.SSFStreamConfig {
	return domain.SSFStreamConfig{StreamID: "s1", Audience: []string{"rcv"},
		Delivery: domain.SSFDelivery{Method: domain.DeliveryPush, EndpointURL: "https://rcv.example/events"}}
}

func TestDecideSSFCreate(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(*domain.SSFStreamConfig)
		code   domain.Code
	}{
		{"ok", func(*domain.SSFStreamConfig) {}, ""},
		{"http loopback", func(c *domain.SSFStreamConfig) { c.Delivery.EndpointURL = "http://127.0.0.1:9000/" }, ""},
		{"http remote", func(c *domain.SSFStreamConfig) { c.Delivery.EndpointURL = "http://rcv.example/" }, domain.CodeValidation},
		{"credentials in url", func(c *domain.SSFStreamConfig) { c.Delivery.EndpointURL = "https://u:p@rcv.example/" }, domain.CodeValidation},
		{"unknown method", func(c *domain.SSFStreamConfig) { c.Delivery.Method = "urn:example" }, domain.CodeValidation},
		{"no audience", func(c *domain.SSFStreamConfig) { c.Audience = nil }, domain.CodeValidation},
		{"poll with auth header", func(c *domain.SSFStreamConfig) {
			c.Delivery = domain.SSFDelivery{Method: domain.DeliveryPoll, AuthorizationHeader: "x"}
		}, domain.CodeValidation},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := pushConfig()
			c.mutate(&cfg)
			_, err := domain.DecideSSFCreate(domain.NewSSFRegistry(), cfg, ssfT0)
			if got := domain.ErrorCode(err); got != c.code {
				t.Fatalf("code = %q (%v), want %q", got, err, c.code)
			}
		})
	}
	e, err := domain.DecideSSFCreate(domain.NewSSFRegistry(), func() domain.SSFStreamConfig {
		c := pushConfig()
		c.EventsRequested = []string{domain.EventSessionRevoked, "urn:unknown"}
		return c
	}(), ssfT0)
	if err != nil || len(e.Config.EventsDelivered) != 1 || e.Config.EventsDelivered[0] != domain.EventSessionRevoked {
		t.Fatalf("events_delivered = %v, %v; want session-revoked only", e, err)
	}
}

func TestDecideSSFChanges(t *testing.T) {
	created := domain.SSFStreamCreated{Config: pushConfig(), CreatedAt: ssfT0}
	r := ssfRegistry(t, created)
	cfg := pushConfig()
	cfg.Audience = []string{"other"}
	if _, err := domain.DecideSSFUpdate(r, cfg, false, ssfT0); domain.ErrorCode(err) != domain.CodeValidation {
		t.Fatalf("changing aud: %v, want VALIDATION_FAILED", err)
	}
	if _, err := domain.DecideSSFStatus(r, "s1", "stopped", "", false, ssfT0); domain.ErrorCode(err) != domain.CodeValidation {
		t.Fatalf("bad status: %v", err)
	}
	if e, err := domain.DecideSSFStatus(r, "s1", domain.SSFEnabled, "", false, ssfT0); e != nil || err != nil {
		t.Fatalf("same status: %v %v, want no event", e, err)
	}
	if _, err := domain.DecideSSFStatus(r, "nope", domain.SSFPaused, "", false, ssfT0); domain.ErrorCode(err) != domain.CodeStreamNotFound {
		t.Fatalf("unknown stream: %v", err)
	}
	v := &domain.SSFVerificationRequested{ID: "s1", RequestedAt: ssfT0}
	if _, err := domain.DecideSSFVerify(r, "s1", "", v, 10*time.Second, ssfT0.Add(5*time.Second)); domain.ErrorCode(err) != domain.CodeRateLimited {
		t.Fatalf("verify within the interval: %v, want RATE_LIMITED", err)
	}
	if _, err := domain.DecideSSFVerify(r, "s1", "", v, 10*time.Second, ssfT0.Add(10*time.Second)); err != nil {
		t.Fatalf("verify after the interval: %v", err)
	}
	r = ssfRegistry(t, created, domain.SSFStreamDeleted{ID: "s1", DeletedAt: ssfT0})
	if _, err := r.Live("s1"); domain.ErrorCode(err) != domain.CodeStreamNotFound {
		t.Fatalf("deleted stream: %v", err)
	}
}

func TestSSFExcludes(t *testing.T) {
	subject := json.RawMessage(`{"format":"complex","user":{"format":"iss_sub","iss":"https://i","sub":"alice"},"session":{"format":"opaque","id":"s-1"}}`)
	for _, c := range []struct {
		name    string
		removed string
		want    bool
	}{
		{"user", `{"sub":"alice","format":"iss_sub","iss":"https://i"}`, true},
		{"session", `{"format":"opaque","id":"s-1"}`, true},
		{"other user", `{"format":"iss_sub","iss":"https://i","sub":"bob"}`, false},
		{"complex match", `{"format":"complex","user":{"format":"iss_sub","iss":"https://i","sub":"alice"}}`, true},
		{"complex mismatch", `{"format":"complex","user":{"format":"iss_sub","iss":"https://i","sub":"alice"},"session":{"format":"opaque","id":"s-2"}}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &domain.SSFStream{}
			st.Apply(domain.SSFSubjectRemoved{ID: "s1", Subject: json.RawMessage(c.removed)}, 1)
			if got := st.Excludes(subject); got != c.want {
				t.Fatalf("Excludes = %v, want %v", got, c.want)
			}
			st.Apply(domain.SSFSubjectAdded{ID: "s1", Subject: json.RawMessage(c.removed)}, 2)
			if st.Excludes(subject) {
				t.Fatal("still excluded after adding the subject back")
			}
		})
	}
}
