package domain

import (
	"encoding/json"
	"strings"
)

// Actor kinds. An actor without a kind is an admin key: events recorded
// before kinds existed decode as keys and encode exactly as they did.
const (
	ActorKey    = "key"    // an admin key (sessiond keys create)
	ActorOIDC   = "oidc"   // a person, authenticated by an OIDC access token
	ActorCLI    = "cli"    // a sessiond command run by an operator
	ActorSystem = "system" // sessiond itself, e.g. the personal-data retention job
)

// Actor is who caused an event: the admin key used (with its owner when
// it has one), the person an identity provider vouched for, the operator
// of a CLI command (OS user and host), or sessiond itself; never client
// input.
//
// A key actor encodes as {"keyId","keyName"} (plus "owner" when the key
// has one), byte for byte as before kinds existed, so events recorded
// before read and hash the same. Any other kind encodes its kind and only
// the fields it has (see MarshalJSON).
type Actor struct {
	// Kind is empty or ActorKey for an admin key, ActorOIDC for a person,
	// ActorCLI or ActorSystem.
	Kind    string `json:"kind,omitempty"`
	KeyID   string `json:"keyId"`
	KeyName string `json:"keyName"`
	// Owner is the free text a key was created with (keys create --owner).
	Owner string `json:"owner,omitempty"`
	// OSUser and Host name who ran a CLI command, and where (Host also
	// for the system actor).
	OSUser string `json:"osUser,omitempty"`
	Host   string `json:"host,omitempty"`
	// Issuer and Subject identify a person: the token's iss and sub.
	Issuer  string `json:"iss,omitempty"`
	Subject string `json:"sub,omitempty"`
	// Name and Email are the token's name and email claims, when present.
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// AMR holds the authentication methods of the token's amr claim,
	// space-separated so that Actor stays comparable with ==; it is
	// stored as a JSON array (Methods splits it).
	AMR string `json:"-"`
}

// person is the stored form of a non-key actor: no empty key fields.
type person struct {
	Kind    string   `json:"kind"`
	OSUser  string   `json:"osUser,omitempty"`
	Host    string   `json:"host,omitempty"`
	Issuer  string   `json:"iss,omitempty"`
	Subject string   `json:"sub,omitempty"`
	Name    string   `json:"name,omitempty"`
	Email   string   `json:"email,omitempty"`
	AMR     []string `json:"amr,omitempty"`
	KeyID   string   `json:"keyId,omitempty"`
	KeyName string   `json:"keyName,omitempty"`
	Owner   string   `json:"owner,omitempty"`
}

// keyActor is the stored form of a key actor, unchanged since the first
// event was recorded.
type keyActor struct {
	KeyID   string `json:"keyId"`
	KeyName string `json:"keyName"`
	Owner   string `json:"owner,omitempty"`
}

// MarshalJSON encodes a key actor as {"keyId","keyName"} and any other
// kind as {"kind", …its non-empty fields}.
func (a Actor) MarshalJSON() ([]byte, error) {
	if a.IsKey() {
		return json.Marshal(keyActor{a.KeyID, a.KeyName, a.Owner})
	}
	return json.Marshal(person{Kind: a.Kind, OSUser: a.OSUser, Host: a.Host, Issuer: a.Issuer, Subject: a.Subject,
		Name: a.Name, Email: a.Email, AMR: a.Methods(), KeyID: a.KeyID, KeyName: a.KeyName, Owner: a.Owner})
}

// UnmarshalJSON decodes both stored forms.
func (a *Actor) UnmarshalJSON(b []byte) error {
	var p person
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*a = Actor{Kind: p.Kind, KeyID: p.KeyID, KeyName: p.KeyName, Owner: p.Owner, OSUser: p.OSUser, Host: p.Host,
		Issuer: p.Issuer, Subject: p.Subject, Name: p.Name, Email: p.Email, AMR: strings.Join(p.AMR, " ")}
	return nil
}

// Methods returns the authentication methods (amr) as a list.
func (a Actor) Methods() []string { return strings.Fields(a.AMR) }

// IsKey reports whether the actor is an admin key (or the zero actor).
func (a Actor) IsKey() bool { return a.Kind == "" || a.Kind == ActorKey }

// IsZero reports whether no actor is recorded.
func (a Actor) IsZero() bool { return a == Actor{} }

// ID identifies the actor across requests: the key id of a key, and
// "<iss>#<sub>" of a person (a subject is unique only within its issuer).
func (a Actor) ID() string {
	switch a.Kind {
	case "", ActorKey:
		return a.KeyID
	case ActorOIDC:
		return a.Issuer + "#" + a.Subject
	}
	return a.Kind + ":" + a.OSUser + "@" + a.Host // cli, system
}

// Label is how the actor is shown where one string must do (revokedBy):
// a key's name; a person's email, else name, else subject.
func (a Actor) Label() string {
	switch a.Kind {
	case "", ActorKey:
		return a.KeyName
	case ActorCLI:
		return "cli:" + a.OSUser + "@" + a.Host
	case ActorSystem:
		return "sessiond:" + a.KeyName
	}
	for _, s := range []string{a.Email, a.Name, a.Subject} {
		if s != "" {
			return s
		}
	}
	return a.ID()
}
