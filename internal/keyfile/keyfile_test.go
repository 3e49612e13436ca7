package keyfile

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestWriteRead: a written key reads back equal, the file is 0600, and a
// second write to the same path is refused rather than replacing the key.
func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "k.pem")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := Write(path, priv); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, err %v; want 0600", fi.Mode().Perm(), err)
	}
	got, err := Read(path, false)
	if err != nil || !priv.Equal(got) {
		t.Fatalf("read back %v, %v", got, err)
	}
	if err := Write(path, priv); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write = %v, want fs.ErrExist", err)
	}
}

// TestEnsureRace: processes starting together all end up with the one key
// that was written first.
func TestEnsureRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.pem")
	load := func(p string) (string, error) {
		k, err := Read(p, false)
		if err != nil {
			return "", err
		}
		return KeyID(k.(ed25519.PrivateKey).Public())
	}
	gen := func() (crypto.PrivateKey, error) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			id, err := Ensure(path, load, gen)
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("ids differ: %v", ids)
		}
	}
}
