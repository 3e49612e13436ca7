package witness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// FileName is the witness file inside a witness directory.
const FileName = "audit-checkpoints.jws"

// Dir appends checkpoints, one JWS per line, to FileName in a directory:
// opened append-only and synced after each line, so it suits write-once
// (WORM) storage and an auditor can copy it at any time.
type Dir struct {
	Path string
	mu   sync.Mutex
}

// Witness appends one checkpoint line and syncs it to disk. A retry after
// a crash may append a line twice; readers ignore repeats.
func (d *Dir) Witness(_ context.Context, _ string, jws string) error {
	if strings.ContainsAny(jws, "\r\n") {
		return errors.New("witness dir: a checkpoint cannot contain a line break")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return fmt.Errorf("witness dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(d.Path, FileName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("witness dir: %w", err)
	}
	if _, err := f.WriteString(jws + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("witness dir: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("witness dir: %w", err)
	}
	return f.Close()
}

// Name implements app.Witness.
func (d *Dir) Name() string { return "--witness-dir " + d.Path }

// ReadDir returns the checkpoints in a witness directory, in order; none
// when the file was not written yet. The directory itself must exist.
func ReadDir(path string) ([]string, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("witness dir: %w", err)
	}
	f, err := os.Open(filepath.Join(path, FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}
