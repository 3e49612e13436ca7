package app

import (
	"context"

	"github.com/sessiond/sessiond/domain"
)

// Redacting wraps src so that, unless show, every personal value still
// held reads domain.Redacted: what a key without personal:read may see.
// The API and the console both use it, so their pages and exports follow
// one rule.
func Redacting(src AuditSource, show bool) AuditSource { return redacting{src, show} }

// redacting is an AuditSource that hides personal data from keys without
// personal:read.
type redacting struct {
	src  AuditSource
	show bool
}

func (x redacting) Events(ctx context.Context, f AuditFilter, fn func(*Event) error) error {
	return x.src.Events(ctx, f, fn)
}

func (x redacting) Reveal(ctx context.Context, recs []Event) ([]Personal, error) {
	ps, err := x.src.Reveal(ctx, recs)
	if err != nil || x.show {
		return ps, err
	}
	red := domain.Redacted
	for _, p := range ps {
		for k, v := range p {
			if v != nil {
				p[k] = &red
			}
		}
	}
	return ps, nil
}
