package faults_test

import (
	"reflect"
	"testing"
)

// TestSchedule: a seed fixes the whole fault schedule, clock jumps
// included; every kind comes up in each round of the shuffle; clock jumps
// go both ways, by 1 s to maxJump, past the staleness bound and within
// it, with and without the feed cut.
func TestSchedule(t *testing.T) {
	const n, replicas, verifiers = 40, 2, 2
	if a, b := schedule(7, n, replicas, verifiers, false), schedule(7, n, replicas, verifiers, false); !reflect.DeepEqual(a, b) {
		t.Fatalf("seed 7 drew two schedules:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(schedule(7, n, replicas, verifiers, false), schedule(8, n, replicas, verifiers, false)) {
		t.Fatal("seeds 7 and 8 drew the same schedule")
	}
	var back, forward, pastBound, withinBound, cut, uncut int
	for seed := uint64(1); seed <= 30; seed++ {
		plan := schedule(seed, n, replicas, verifiers, false)
		seen := map[faultKind]bool{}
		for i, f := range plan {
			if i < len(allFaults) {
				seen[f.Kind] = true
			}
			if f.Kind != clockJump {
				if f.Jump != 0 || f.Cut {
					t.Errorf("seed %d: %v carries a clock jump", seed, f)
				}
				continue
			}
			j := f.Jump
			if j < 0 {
				back++
				j = -j
			} else {
				forward++
			}
			if j < minJump || j > maxJump || f.Target < 0 || f.Target >= verifiers {
				t.Errorf("seed %d: %v out of range", seed, f)
			}
			if j > bound {
				pastBound++
			} else {
				withinBound++
			}
			if f.Cut {
				cut++
			} else {
				uncut++
			}
		}
		if len(seen) != len(allFaults) {
			t.Errorf("seed %d: the first %d faults cover %d kinds", seed, len(allFaults), len(seen))
		}
	}
	for what, count := range map[string]int{"back": back, "forward": forward, "past the bound": pastBound,
		"within the bound": withinBound, "with the feed cut": cut, "feed live": uncut} {
		if count == 0 {
			t.Errorf("no clock jump %s in 30 seeds", what)
		}
	}
}
