package bench

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPU is how busy the whole machine was during a phase, from the kernel's
// counters in /proc/stat (Linux only; Known is false elsewhere). On a
// machine whose cores the server, PostgreSQL, NATS and the load generator
// share, it tells a run limited by CPU from one limited by waiting, and
// CPU per operation compares the revoke path with the yardstick by the
// work each does, not by its rate alone.
type CPU struct {
	Known bool
	Cores int           // cores the kernel counts
	Busy  time.Duration // CPU time all cores spent not idle
	Wall  time.Duration
}

// Share is the fraction of the machine's cores that were busy, 0 to 1.
func (c CPU) Share() float64 {
	if !c.Known || c.Wall <= 0 || c.Cores == 0 {
		return 0
	}
	return c.Busy.Seconds() / (c.Wall.Seconds() * float64(c.Cores))
}

// PerOp is the machine's busy CPU time per operation.
func (c CPU) PerOp(ops int) time.Duration {
	if !c.Known || ops == 0 {
		return 0
	}
	return c.Busy / time.Duration(ops)
}

// cpuMeter measures CPU from its creation to stop.
type cpuMeter struct {
	start     time.Time
	busy, all uint64 // ticks
	cores     int
	ok        bool
}

func startCPU() *cpuMeter {
	m := &cpuMeter{start: time.Now()}
	m.busy, m.all, m.cores, m.ok = readProcStat()
	return m
}

func (m *cpuMeter) stop() CPU {
	wall := time.Since(m.start)
	busy, all, cores, ok := readProcStat()
	if !m.ok || !ok || all <= m.all || cores == 0 {
		return CPU{}
	}
	// The share of ticks that were busy, over the cores' wall time: no
	// assumption about the tick rate.
	share := float64(busy-m.busy) / float64(all-m.all)
	return CPU{Known: true, Cores: cores, Wall: wall,
		Busy: time.Duration(share * float64(wall) * float64(cores))}
}

// readProcStat reads /proc/stat (see parseProcStat).
func readProcStat() (busy, all uint64, cores int, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	defer f.Close()
	return parseProcStat(f)
}

// parseProcStat returns the machine's busy and total ticks (from the
// "cpu" line) and the number of cores (the "cpuN" lines).
func parseProcStat(r io.Reader) (busy, all uint64, cores int, ok bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 0:
		case len(fields) > 5 && fields[0] == "cpu":
			// user nice system idle iowait irq softirq steal (guest time is
			// already in user and nice). Idle, iowait and steal (another
			// guest ran on the core) are not this machine's work.
			for i, s := range fields[1:min(len(fields), 9)] {
				n, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					return 0, 0, 0, false
				}
				all += n
				if i != 3 && i != 4 && i != 7 {
					busy += n
				}
			}
			ok = true
		case strings.HasPrefix(fields[0], "cpu") && len(fields[0]) > 3:
			cores++
		}
	}
	return busy, all, cores, ok && sc.Err() == nil
}
