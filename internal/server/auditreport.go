package server

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/app"
)

// verifyJSON is audit verify's --format json document.
type verifyJSON struct {
	// Verdict is "ok", "broken" or "unverified" (intact, but signatures
	// could not be checked and --allow-unsigned was not given).
	Verdict string `json:"verdict"`
	Events  struct {
		From     int64  `json:"from"`
		To       int64  `json:"to"`
		Checked  int64  `json:"checked"`
		HeadHash string `json:"headHash"`
	} `json:"events"`
	Signatures struct {
		Checked     bool     `json:"checked"`
		TrustedKeys []string `json:"trustedKeys"`
	} `json:"signatures"`
	Checkpoints struct {
		InLog     int            `json:"inLog"`
		Given     int            `json:"given"`
		Witnessed map[string]int `json:"witnessed"`
		// Covered is, per witness, how many of the log's checkpoints it holds.
		Covered map[string]int `json:"covered"`
	} `json:"checkpoints"`
	Derived struct {
		Checked        bool `json:"checked"`
		ModelRows      int  `json:"modelRows"`
		PersonalValues int  `json:"personalValues"`
	} `json:"derived"`
	Breaks []breakJSON `json:"breaks"`
}

type breakJSON struct {
	Kind     string `json:"kind"`
	Position int64  `json:"position,omitempty"`
	From     int64  `json:"from,omitempty"`
	To       int64  `json:"to,omitempty"`
	EventID  string `json:"eventId,omitempty"`
	Type     string `json:"type,omitempty"`
	StreamID string `json:"streamId,omitempty"`
	Table    string `json:"table,omitempty"`
	Row      string `json:"row,omitempty"`
	Reason   string `json:"reason"`
}

// errUnverified is returned when signatures could not be checked.
var errUnverified = errors.New("signatures could not be checked")

// printVerify writes the report and returns the exit: nil when intact and
// checked (or --allow-unsigned), exit code 1 otherwise.
func (m *Main) printVerify(rep app.AuditReport, a verifyArgs) error {
	var doc verifyJSON
	doc.Events.From, doc.Events.To, doc.Events.Checked, doc.Events.HeadHash = rep.Chain.From, rep.Chain.To, rep.Chain.Checked, hex.EncodeToString(rep.Chain.HeadHash)
	doc.Signatures.Checked, doc.Signatures.TrustedKeys = !rep.Unsigned, append([]string{}, rep.TrustedKeys...)
	doc.Checkpoints.InLog, doc.Checkpoints.Given, doc.Checkpoints.Witnessed, doc.Checkpoints.Covered = rep.InLog, rep.External, rep.Witnessed, rep.Covered
	doc.Derived.Checked, doc.Derived.ModelRows, doc.Derived.PersonalValues = rep.ModelRows >= 0, rep.ModelRows, rep.PersonalValues
	doc.Breaks = []breakJSON{}
	for _, b := range rep.Breaks {
		doc.Breaks = append(doc.Breaks, breakJSON{b.Kind, b.Position, b.From, b.To, b.EventID, b.Type, b.StreamID, b.Table, b.Row, b.Reason})
	}
	var exit error
	switch {
	case len(rep.Breaks) > 0:
		doc.Verdict = "broken"
		exit = &ExitError{Code: 1, Err: fmt.Errorf("%d problems found", len(rep.Breaks))}
	case rep.Unsigned && !a.allowUnsigned:
		doc.Verdict = "unverified"
		exit = &ExitError{Code: 1, Err: errUnverified}
	default:
		doc.Verdict = "ok"
	}
	if a.format == "json" {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(doc)
		return exit
	}
	for _, b := range rep.Breaks {
		fmt.Fprintln(m.Stdout, breakLine(b))
	}
	w := m.Stdout
	if len(rep.Breaks) > 0 {
		fmt.Fprintf(w, "BROKEN: %d problems found; ", len(rep.Breaks))
	} else if doc.Verdict == "unverified" {
		fmt.Fprint(w, "NOT VERIFIED: the log is intact but nothing proves it was not rewritten; ")
	} else {
		fmt.Fprint(w, "OK: ")
	}
	fmt.Fprintf(w, "%d events verified (positions %d to %d), head hash %x\n", rep.Chain.Checked, rep.Chain.From, rep.Chain.To, rep.Chain.HeadHash)
	fmt.Fprintf(w, "checkpoints: %d in the log, %d given%s\n", rep.InLog, rep.External, witnessed(rep.Witnessed))
	for _, n := range sortedKeys(rep.Witnessed) {
		fmt.Fprintf(w, "%s holds %d of the log's %d checkpoints\n", n, rep.Covered[n], rep.InLog)
	}
	if rep.Unsigned {
		fmt.Fprintln(w, "signatures NOT checked: no trusted audit key (give --audit-keys FILE|URL kept from /.well-known/sessiond-audit-keys.json, or run where --audit-key-file is readable); --allow-unsigned accepts this")
	} else if len(rep.TrustedKeys) == 0 {
		fmt.Fprintln(w, "signatures: none to check")
	} else {
		fmt.Fprintf(w, "signatures checked with audit keys %s\n", strings.Join(rep.TrustedKeys, ", "))
	}
	if rep.ModelRows >= 0 {
		fmt.Fprintf(w, "derived state: %d read-model rows and %d personal-data values compared with the log\n", rep.ModelRows, rep.PersonalValues)
	} else if a.logOnly {
		fmt.Fprintln(w, "derived state: not checked (--log-only)")
	} else {
		fmt.Fprintln(w, "derived state: not checked (it is compared only when the walk covers the whole log)")
	}
	return exit
}

func witnessed(w map[string]int) string {
	if len(w) == 0 {
		return ", no witness checked"
	}
	var parts []string
	for _, n := range sortedKeys(w) {
		parts = append(parts, fmt.Sprintf("%d in %s", w[n], n))
	}
	return ", " + strings.Join(parts, ", ")
}

// breakLine renders one break: where, what, and where the change lies.
func breakLine(b eventstore.Break) string {
	var sb strings.Builder
	switch {
	case b.Position > 0:
		fmt.Fprintf(&sb, "BROKEN at position %d: %s", b.Position, b.Reason)
	case b.Table != "":
		fmt.Fprintf(&sb, "BROKEN in %s row %q: %s", b.Table, b.Row, b.Reason)
	default:
		fmt.Fprintf(&sb, "BROKEN: %s", b.Reason)
	}
	var about []string
	about = append(about, b.Kind)
	if b.EventID != "" {
		about = append(about, fmt.Sprintf("event %s, %s, stream %s", b.EventID, b.Type, b.StreamID))
	}
	if b.From > 0 && b.To >= b.From {
		if b.From == b.To {
			about = append(about, fmt.Sprintf("the change is at position %d", b.From))
		} else {
			about = append(about, fmt.Sprintf("the change lies in positions %d to %d", b.From, b.To))
		}
	}
	fmt.Fprintf(&sb, " [%s]", strings.Join(about, "; "))
	return sb.String()
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
