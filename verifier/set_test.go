package verifier

import "testing"

func TestSet(t *testing.T) {
	s := newSet(0)
	s.add("a", 100)
	if !s.revoked("a", 50) || s.revoked("A", 50) || s.revoked("a", 100) {
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
		s.sweep(10)
		sweeps++
	}
	if s.len() != 0 {
		t.Fatalf("%d entries left after %d sweeps", s.len(), sweeps)
	}
	t.Logf("%d entries emptied in %d sweeps", 20*sweepChunk, sweeps)
}
