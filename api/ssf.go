package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// SSF is what the API needs of the Shared Signals transmitter: stream
// management (app.SSF), polling and the signing keys (package ssf).
type SSF interface {
	List(ctx context.Context, keyID string) ([]domain.SSFStream, error)
	Get(ctx context.Context, keyID, id string) (domain.SSFStream, error)
	Create(ctx context.Context, meta app.Meta, cfg domain.SSFStreamConfig) (domain.SSFStream, error)
	Update(ctx context.Context, meta app.Meta, cfg domain.SSFStreamConfig, replace, sealAuth bool) (domain.SSFStream, error)
	SetStatus(ctx context.Context, meta app.Meta, id, status, reason string) (domain.SSFStream, error)
	Delete(ctx context.Context, meta app.Meta, id string) error
	Subject(ctx context.Context, meta app.Meta, id string, subject json.RawMessage, add bool, verified *bool) error
	Verify(ctx context.Context, meta app.Meta, id, state string) error
	MinVerificationInterval() time.Duration
	Poll(ctx context.Context, id string, req domain.SSFPollRequest) (map[string]string, bool, error)
	JWKS() []byte
}

// SSF endpoint paths, relative to the issuer.
const (
	SSFConfigurationPath = "/.well-known/ssf-configuration"
	SSFJWKSPath          = "/ssf/jwks.json"
	SSFStreamPath        = "/ssf/stream"
	SSFStatusPath        = "/ssf/status"
	SSFAddSubjectPath    = "/ssf/subjects:add"
	SSFRemoveSubjectPath = "/ssf/subjects:remove"
	SSFVerifyPath        = "/ssf/verify"
	SSFPollPath          = "/ssf/poll/" // + stream id
)

func (s *Server) ssfRoutes(r *mux.Router) {
	r.HandleFunc(SSFConfigurationPath, s.needSSF(s.ssfConfiguration)).Methods(http.MethodGet)
	r.HandleFunc(SSFJWKSPath, s.needSSF(s.ssfJWKS)).Methods(http.MethodGet)
	manage := func(h http.HandlerFunc) http.Handler {
		return bearerChallenge(s.admin(domain.ScopeSSFManage, s.needSSF(noStore(h))))
	}
	r.Handle(SSFStreamPath, manage(s.ssfCreate)).Methods(http.MethodPost)
	r.Handle(SSFStreamPath, manage(s.ssfRead)).Methods(http.MethodGet)
	r.Handle(SSFStreamPath, manage(s.ssfUpdate(false))).Methods(http.MethodPatch)
	r.Handle(SSFStreamPath, manage(s.ssfUpdate(true))).Methods(http.MethodPut)
	r.Handle(SSFStreamPath, manage(s.ssfDelete)).Methods(http.MethodDelete)
	r.Handle(SSFStatusPath, manage(s.ssfStatus)).Methods(http.MethodGet)
	r.Handle(SSFStatusPath, manage(s.ssfSetStatus)).Methods(http.MethodPost)
	r.Handle(SSFAddSubjectPath, manage(s.ssfSubject(true))).Methods(http.MethodPost)
	r.Handle(SSFRemoveSubjectPath, manage(s.ssfSubject(false))).Methods(http.MethodPost)
	r.Handle(SSFVerifyPath, manage(s.ssfVerify)).Methods(http.MethodPost)
	// Long polls outlast the admin request deadline; Poll bounds itself.
	r.Handle(SSFPollPath+"{streamId}", bearerChallenge(s.authenticate(s.scoped(domain.ScopeSSFManage, s.needSSF(noStore(s.ssfPoll)))))).Methods(http.MethodPost)
}

func (s *Server) needSSF(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.ssf == nil {
			s.writeError(w, r, domain.Errorf(domain.CodeUnavailable, "the SSF transmitter is not configured"))
			return
		}
		h(w, r)
	}
}

func noStore(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	}
}

// ssfConfiguration answers the SSF transmitter configuration metadata.
func (s *Server) ssfConfiguration(w http.ResponseWriter, _ *http.Request) {
	iss := s.opts.SSFIssuer
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{
		"spec_version":               "1_0",
		"issuer":                     iss,
		"jwks_uri":                   iss + SSFJWKSPath,
		"delivery_methods_supported": []string{domain.DeliveryPush, domain.DeliveryPoll},
		"configuration_endpoint":     iss + SSFStreamPath,
		"status_endpoint":            iss + SSFStatusPath,
		"add_subject_endpoint":       iss + SSFAddSubjectPath,
		"remove_subject_endpoint":    iss + SSFRemoveSubjectPath,
		"verification_endpoint":      iss + SSFVerifyPath,
		"authorization_schemes":      []map[string]string{{"spec_urn": "urn:ietf:rfc:6749"}, {"spec_urn": "urn:ietf:rfc:6750"}},
		"default_subjects":           "ALL",
	})
}

func (s *Server) ssfJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(s.ssf.JWKS())
}

// ssfCreate creates a stream (SSF 1.0 section 8.1.1.1). aud, which SSF
// makes transmitter-supplied, may be given to name the receiver.
func (s *Server) ssfCreate(w http.ResponseWriter, r *http.Request) {
	var req ssfStreamRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.StreamID != nil {
		s.writeError(w, r, domain.Errorf(domain.CodeValidation, "stream_id is chosen by the transmitter"))
		return
	}
	aud, err := audience(req.Aud)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cfg := domain.SSFStreamConfig{Audience: aud}
	applyRequest(&cfg, req)
	st, err := s.ssf.Create(r.Context(), meta(r), cfg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.ssfDTO(st))
}

// ssfRead answers one stream (?stream_id=) or the list of all of them.
func (s *Server) ssfRead(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("stream_id")
	if id == "" {
		list, err := s.ssf.List(r.Context(), principal(r).KeyID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]ssfStreamDTO, len(list))
		for i, st := range list {
			out[i] = s.ssfDTO(st)
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	st, err := s.ssf.Get(r.Context(), principal(r).KeyID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.ssfDTO(st))
}

// ssfUpdate is PATCH (replace false: properties absent stay) and PUT
// (replace true: absent receiver-supplied properties are reset).
func (s *Server) ssfUpdate(replace bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req ssfStreamRequest
		if err := decodeBody(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		if req.StreamID == nil || *req.StreamID == "" {
			s.writeError(w, r, domain.Errorf(domain.CodeValidation, "stream_id is required"))
			return
		}
		cur, err := s.ssf.Get(r.Context(), principal(r).KeyID, *req.StreamID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.checkSupplied(cur, req); err != nil {
			s.writeError(w, r, err)
			return
		}
		cfg := cur.Config
		if replace {
			cfg.EventsRequested, cfg.Description = nil, ""
			if req.Delivery == nil {
				s.writeError(w, r, domain.Errorf(domain.CodeValidation, "delivery is required"))
				return
			}
		}
		applyRequest(&cfg, req)
		st, err := s.ssf.Update(r.Context(), meta(r), cfg, replace, req.Delivery != nil)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, s.ssfDTO(st))
	}
}

// checkSupplied enforces that transmitter-supplied properties sent back
// match the stream's.
func (s *Server) checkSupplied(cur domain.SSFStream, req ssfStreamRequest) error {
	if req.Iss != nil && *req.Iss != s.opts.SSFIssuer {
		return domain.Errorf(domain.CodeValidation, "iss does not match the transmitter's")
	}
	if aud, err := audience(req.Aud); err != nil {
		return err
	} else if aud != nil && !slices.Equal(aud, cur.Config.Audience) {
		return domain.Errorf(domain.CodeValidation, "aud cannot be changed")
	}
	if req.EventsDelivered != nil && !slices.Equal(*req.EventsDelivered, cur.Config.EventsDelivered) {
		return domain.Errorf(domain.CodeValidation, "events_delivered does not match the stream's")
	}
	return nil
}

func (s *Server) ssfDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.ssf.Delete(r.Context(), meta(r), r.URL.Query().Get("stream_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type ssfStatusDTO struct {
	StreamID string `json:"stream_id"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
}

func (s *Server) ssfStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.ssf.Get(r.Context(), principal(r).KeyID, r.URL.Query().Get("stream_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ssfStatusDTO{StreamID: st.Config.StreamID, Status: st.Status, Reason: st.Reason})
}

func (s *Server) ssfSetStatus(w http.ResponseWriter, r *http.Request) {
	var req ssfStatusDTO
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.ssf.SetStatus(r.Context(), meta(r), req.StreamID, req.Status, req.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ssfStatusDTO{StreamID: st.Config.StreamID, Status: st.Status, Reason: st.Reason})
}

// ssfSubject adds (200) or removes (204) a subject.
func (s *Server) ssfSubject(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			StreamID string          `json:"stream_id"`
			Subject  json.RawMessage `json:"subject"`
			Verified *bool           `json:"verified"`
		}
		if err := decodeBody(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		if !add && req.Verified != nil {
			s.writeError(w, r, domain.Errorf(domain.CodeValidation, "verified is only for adding a subject"))
			return
		}
		if err := s.ssf.Subject(r.Context(), meta(r), req.StreamID, req.Subject, add, req.Verified); err != nil {
			s.writeError(w, r, err)
			return
		}
		if add {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) ssfVerify(w http.ResponseWriter, r *http.Request) {
	var req struct {
		StreamID string `json:"stream_id"`
		State    string `json:"state"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.ssf.Verify(r.Context(), meta(r), req.StreamID, req.State); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ssfPoll is an RFC 8936 poll.
func (s *Server) ssfPoll(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MaxEvents         *int                       `json:"maxEvents"`
		ReturnImmediately bool                       `json:"returnImmediately"`
		Ack               []string                   `json:"ack"`
		SetErrs           map[string]domain.SETError `json:"setErrs"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	pr := domain.SSFPollRequest{MaxEvents: -1, ReturnImmediately: req.ReturnImmediately, Acks: req.Ack, SetErrs: req.SetErrs}
	if req.MaxEvents != nil {
		if *req.MaxEvents < 0 {
			s.writeError(w, r, domain.Errorf(domain.CodeValidation, "maxEvents must not be negative"))
			return
		}
		pr.MaxEvents = *req.MaxEvents
	}
	id := mux.Vars(r)["streamId"]
	if _, err := s.ssf.Get(r.Context(), principal(r).KeyID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	sets, more, err := s.ssf.Poll(r.Context(), id, pr)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sets": sets, "moreAvailable": more})
}
