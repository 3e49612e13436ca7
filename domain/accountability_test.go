package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
)

func TestDecideCreateKeyNamesAndOwner(t *testing.T) {
	now := time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	cmd := domain.CreateAdminKey{KeyID: "k2", Name: "alice-ops", Owner: "alice@example.com", Scopes: []domain.Scope{domain.ScopeSessionsRead},
		KeyHash: strings.Repeat("ab", 32), TakenNames: map[string]string{"bob-ops": "k1"}}
	ev, err := domain.DecideCreateKey(nil, cmd, now)
	if err != nil || ev.Owner != "alice@example.com" {
		t.Fatalf("create = %+v, %v", ev, err)
	}
	cmd.TakenNames["alice-ops"] = "k0" // revoked or not: the table holds every name ever used
	if _, err := domain.DecideCreateKey(nil, cmd, now); domain.ErrorCode(err) != domain.CodeConflict || !strings.Contains(domain.ErrorMessage(err), "k0") {
		t.Errorf("duplicate name: %v", err)
	}
	cmd.TakenNames = nil
	for _, owner := range []string{strings.Repeat("x", domain.MaxKeyOwnerLength+1), "a\nb"} {
		cmd.Owner = owner
		if _, err := domain.DecideCreateKey(nil, cmd, now); domain.ErrorCode(err) != domain.CodeValidation {
			t.Errorf("owner %q: %v", owner, err)
		}
	}
}

func TestAccountabilityEventsRoundTrip(t *testing.T) {
	for _, e := range []domain.Event{
		domain.AccessDenied{Status: 401, Code: "ADMIN_SESSION_INVALID", Count: 3, Routes: []string{"GET /x"}, RequestIDs: []string{"r"}},
		domain.AuditRead{Operation: "export", Via: "cli", Format: "csv", Rows: 2, Complete: true},
		domain.PersonalDataErased{Erased: 4, Trigger: "retention"},
	} {
		typ, data, err := domain.EncodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := domain.DecodeEvent(typ, data)
		if err != nil || back.EventType() != e.EventType() || back.StreamID() != e.StreamID() {
			t.Errorf("%s: decoded %v, %v", typ, back, err)
		}
	}
}
