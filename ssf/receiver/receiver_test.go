package receiver_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/sessiond/sessiond/ssf"
	"github.com/sessiond/sessiond/ssf/receiver"
)

const iss = "https://tx.example"

func mustKeys(t *testing.T) *ssf.Keys {
	t.Helper()
	k, err := ssf.EnsureKeyFile(t.TempDir() + "/k.pem")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ssf.NewKeys(k)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func validClaims() map[string]any {
	return map[string]any{
		"iss": iss, "aud": "rcv", "iat": 1700000000, "jti": "j-1", "txn": "t-1",
		"sub_id": map[string]any{"format": "complex",
			"user":    map[string]any{"format": "iss_sub", "iss": iss, "sub": "alice"},
			"session": map[string]any{"format": "opaque", "id": "s-1"}},
		"events": map[string]any{receiver.SessionRevoked: map[string]any{
			"event_timestamp": 1700000000, "initiating_entity": "admin", "reason_admin": map[string]any{"en": "x"}}},
	}
}

// TestValidate: a valid SET passes once; each rule of RFC 8417, SSF 1.0
// and the CAEP interoperability profile rejects with its RFC 8935 code.
func TestValidate(t *testing.T) {
	keys := mustKeys(t)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(keys.JWKS()) }))
	defer jwks.Close()
	other := mustKeys(t)
	newRcv := func() *receiver.Receiver {
		return receiver.New(receiver.Config{Issuer: iss, Audience: []string{"rcv"}, JWKSURL: jwks.URL})
	}
	sign := func(k *ssf.Keys, mutate func(map[string]any)) string {
		c := validClaims()
		if mutate != nil {
			mutate(c)
		}
		s, err := k.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	r := newRcv()
	set, err := r.Validate(t.Context(), sign(keys, nil))
	if err != nil || set.JTI != "j-1" || set.TXN != "t-1" || set.EventType != receiver.SessionRevoked {
		t.Fatalf("valid SET: %+v, %v", set, err)
	}
	if _, err := r.Validate(t.Context(), sign(keys, nil)); !errors.Is(err, receiver.ErrDuplicate) || r.Duplicates() != 1 {
		t.Fatalf("same jti again: %v (duplicates %d), want ErrDuplicate", err, r.Duplicates())
	}
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, (&jose.SignerOptions{}).WithType("secevent+jwt"))
	payload, _ := json.Marshal(validClaims())
	hsObj, _ := hs.Sign(payload)
	hsSET, _ := hsObj.CompactSerialize()
	for _, c := range []struct {
		name  string
		token string
		want  error
	}{
		{"HS256", hsSET, receiver.ErrInvalidRequest},
		{"other key", sign(other, nil), receiver.ErrInvalidKey},
		{"wrong iss", sign(keys, func(c map[string]any) { c["iss"] = "https://evil" }), receiver.ErrInvalidIssuer},
		{"wrong aud", sign(keys, func(c map[string]any) { c["aud"] = []string{"someone-else"} }), receiver.ErrInvalidAudience},
		{"sub", sign(keys, func(c map[string]any) { c["sub"] = "alice" }), receiver.ErrInvalidRequest},
		{"exp", sign(keys, func(c map[string]any) { c["exp"] = 1800000000 }), receiver.ErrInvalidRequest},
		{"no jti", sign(keys, func(c map[string]any) { delete(c, "jti") }), receiver.ErrInvalidRequest},
		{"no iat", sign(keys, func(c map[string]any) { delete(c, "iat") }), receiver.ErrInvalidRequest},
		{"two events", sign(keys, func(c map[string]any) {
			c["events"].(map[string]any)[receiver.Verification] = map[string]any{}
		}), receiver.ErrInvalidRequest},
		{"no session", sign(keys, func(c map[string]any) { delete(c["sub_id"].(map[string]any), "session") }), receiver.ErrInvalidRequest},
		{"bad subject format", sign(keys, func(c map[string]any) {
			c["sub_id"].(map[string]any)["user"] = map[string]any{"format": "iss_sub", "sub": "alice"}
		}), receiver.ErrInvalidRequest},
		{"no reason_admin", sign(keys, func(c map[string]any) {
			delete(c["events"].(map[string]any)[receiver.SessionRevoked].(map[string]any), "reason_admin")
		}), receiver.ErrInvalidRequest},
		{"garbage", "not.a.jws", receiver.ErrInvalidRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := newRcv().Validate(t.Context(), c.token); !errors.Is(err, c.want) {
				t.Fatalf("Validate = %v, want %v", err, c.want)
			}
		})
	}
}

// TestValidateTyp: the JOSE header must say typ secevent+jwt.
func TestValidateTyp(t *testing.T) {
	k, err := ssf.EnsureKeyFile(t.TempDir() + "/k.pem")
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := ssf.NewKeys(k)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(ks.JWKS()) }))
	defer jwks.Close()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(validClaims())
	obj, _ := signer.Sign(payload)
	tok, _ := obj.CompactSerialize()
	r := receiver.New(receiver.Config{Issuer: iss, Audience: []string{"rcv"}, JWKSURL: jwks.URL})
	if _, err := r.Validate(t.Context(), tok); !errors.Is(err, receiver.ErrInvalidRequest) {
		t.Fatalf("typ JWT: %v, want invalid_request", err)
	}
}
