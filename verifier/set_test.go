package verifier

import "testing"

func TestSet(t *testing.T) {
	s := newSet(0)
	s.add("a", 100)
	if !s.revoked("a", 50) || s.revoked("A", 50) || !s.revoked("a", 100) || s.revoked("a", 101) {
		t.Fatal("lookups do not respect exact ids and expiry")
	}
	if s.add("a", 90) || !s.revoked("a", 95) {
		t.Fatal("an earlier expiry shortened a revocation")
	}
	s.add("b", 300)
	if n := s.sweep(200); n != 1 || s.len() != 1 || !s.revoked("b", 200) {
		t.Fatalf("sweep removed %d, %d left", n, s.len())
	}
}

// TestSweepCoversLargeSets: repeated bounded sweeps empty a set far larger
// than one sweep visits.
func TestSweepCoversLargeSets(t *testing.T) {
	s := newSet(0)
	for i := range 20 * sweepChunk {
		s.add(string(rune('a'+i%26))+string(rune(i)), 10)
	}
	sweeps := 0
	for s.len() > 0 && sweeps < 1000 {
		s.sweep(11)
		sweeps++
	}
	if s.len() != 0 {
		t.Fatalf("%d entries left after %d sweeps", s.len(), sweeps)
	}
	t.Logf("%d entries emptied in %d sweeps", 20*sweepChunk, sweeps)
}

// TestUUIDShapedIDs: the compact form never merges two different ids.
func TestUUIDShapedIDs(t *testing.T) {
	s := newSet(0)
	a := "0193b6f2-7c1e-7a3b-9d4e-5f6a7b8c9d0e"
	s.add(a, 10)
	for id, want := range map[string]bool{
		a:                                      true,
		"0193B6F2-7C1E-7A3B-9D4E-5F6A7B8C9D0E": false, // another id
		"0193b6f27c1e7a3b9d4e5f6a7b8c9d0e":     false, // the compact form given as an id
		"0193b6f2-7c1e-7a3b-9d4e-5f6a7b8c9d0f": false,
	} {
		if got := s.revoked(id, 0); got != want {
			t.Errorf("revoked(%s) = %v, want %v", id, got, want)
		}
	}
	s.add("0193b6f27c1e7a3b9d4e5f6a7b8c9d0e", 10)
	if s.len() != 2 {
		t.Errorf("len = %d, want the two ids kept apart", s.len())
	}
}
