package app

import (
	"context"
	"os"
	"os/user"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// CLIActor is the actor of a command run from the command line: the
// operating-system user and the host it ran on.
func CLIActor() domain.Actor {
	a := domain.Actor{Kind: domain.ActorCLI, OSUser: os.Getenv("USER")}
	if u, err := user.Current(); err == nil && u.Username != "" {
		a.OSUser = u.Username
	}
	if a.OSUser == "" {
		a.OSUser = "unknown"
	}
	a.Host, _ = os.Hostname()
	return a
}

// SystemActor is the actor of what sessiond does by itself (the
// retention job).
func SystemActor(what string) domain.Actor {
	a := domain.Actor{Kind: domain.ActorSystem, KeyName: what}
	a.Host, _ = os.Hostname()
	return a
}

// RecordRead appends an AuditRead: who read the audit trail, how, with
// which filters, and how many rows. Callers record before (or, for
// streams, instead of finishing) handing the result over, so a read that
// cannot be recorded does not happen unrecorded.
func (s *Service) RecordRead(ctx context.Context, meta Meta, read domain.AuditRead) error {
	if read.ReadAt.IsZero() {
		read.ReadAt = s.clock().UTC()
	}
	return s.appendAny(ctx, meta, read)
}

// ErasePersonal erases personal data kept beside the log and appends a
// PersonalDataErased recording the criteria, the count and the actor.
// The record is appended even when nothing matched if the erasure was
// asked for by a person (trigger "cli"); the retention job records only
// erasures that removed something, so an idle server adds no events.
func (s *Service) ErasePersonal(ctx context.Context, meta Meta, store PersonalStore, e eventstore.Erasure, trigger, retention string) (int64, error) {
	n, err := store.ErasePersonal(ctx, e)
	if err != nil {
		return 0, storeError(err)
	}
	if n == 0 && trigger == "retention" {
		return 0, nil
	}
	ev := domain.PersonalDataErased{ActorKeyID: e.ActorKeyID, Erased: n, Trigger: trigger, Retention: retention, ErasedAt: s.clock().UTC()}
	if !e.Before.IsZero() {
		b := e.Before.UTC()
		ev.Before = &b
	}
	return n, s.appendAny(ctx, meta, ev)
}

// appendAny appends one event to its stream at any version: the
// accountability streams hold independent records.
func (s *Service) appendAny(ctx context.Context, meta Meta, ev domain.Event) error {
	sa, err := s.streamAppend(meta, ev.StreamID(), eventstore.AnyVersion, ev)
	if err != nil {
		return err
	}
	_, err = s.log.Append(ctx, sa)
	return storeError(err)
}

// RetainPersonal erases personal data older than retention every every
// until ctx ends, recording each erasure that removed something. The
// first run is at once.
func (s *Service) RetainPersonal(ctx context.Context, store PersonalStore, retention, every time.Duration) {
	meta := Meta{Actor: SystemActor("personal-retention"), RequestID: "personal-retention"}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		before := s.clock().Add(-retention)
		n, err := s.ErasePersonal(ctx, meta, store, eventstore.Erasure{Before: before}, "retention", retention.String())
		switch {
		case err != nil && ctx.Err() == nil:
			s.slog.WarnContext(ctx, "personal data retention", "err", err)
		case n > 0:
			s.slog.InfoContext(ctx, "personal data erased by retention", "items", n, "before", before)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
