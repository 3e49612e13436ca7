package domain_test

import (
	"encoding/json"
	"testing"

	"github.com/sessiond/sessiond/domain"
)

// A key actor must encode byte for byte as before kinds existed: stored
// events are hashed over this encoding.
func TestActorKeyEncodingUnchanged(t *testing.T) {
	for _, a := range []domain.Actor{{KeyID: "k1", KeyName: "ops"}, {}, {Kind: domain.ActorKey, KeyID: "k1", KeyName: "ops"}} {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"keyId":"` + a.KeyID + `","keyName":"` + a.KeyName + `"}`
		if got := string(b); got != want {
			t.Errorf("Marshal(%+v) = %s, want %s", a, got, want)
		}
	}
	var a domain.Actor
	if err := json.Unmarshal([]byte(`{"keyId":"k1","keyName":"ops"}`), &a); err != nil {
		t.Fatal(err)
	}
	if want := (domain.Actor{KeyID: "k1", KeyName: "ops"}); a != want || !a.IsKey() || a.Label() != "ops" || a.ID() != "k1" {
		t.Errorf("decoded %+v, want %+v", a, want)
	}
}

func TestActorPerson(t *testing.T) {
	a := domain.Actor{Kind: domain.ActorOIDC, Issuer: "https://idp", Subject: "u-7", Email: "ada@example.com", AMR: "pwd mfa"}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"kind":"oidc","iss":"https://idp","sub":"u-7","email":"ada@example.com","amr":["pwd","mfa"]}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	var back domain.Actor
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != a {
		t.Errorf("round trip = %+v, want %+v", back, a)
	}
	if got, want := a.Label(), "ada@example.com"; got != want {
		t.Errorf("Label = %q, want %q", got, want)
	}
	if got, want := a.ID(), "https://idp#u-7"; got != want {
		t.Errorf("ID = %q, want %q", got, want)
	}
	if a.IsKey() || a.IsZero() {
		t.Error("a person is neither a key nor zero")
	}
}
