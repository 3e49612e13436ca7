package api

import (
	"encoding/json"
	"time"

	"github.com/sessiond/sessiond/domain"
)

// ssfStreamDTO is a stream's configuration on the wire (SSF 1.0 section 8.1.1).
type ssfStreamDTO struct {
	StreamID                string         `json:"stream_id"`
	Iss                     string         `json:"iss"`
	Aud                     any            `json:"aud"`
	EventsSupported         []string       `json:"events_supported"`
	EventsRequested         []string       `json:"events_requested"`
	EventsDelivered         []string       `json:"events_delivered"`
	Delivery                ssfDeliveryDTO `json:"delivery"`
	MinVerificationInterval int            `json:"min_verification_interval"`
	Description             string         `json:"description,omitempty"`
}

// ssfDeliveryDTO never carries the authorization header back out.
type ssfDeliveryDTO struct {
	Method      string `json:"method"`
	EndpointURL string `json:"endpoint_url,omitempty"`
}

func (s *Server) ssfDTO(st domain.SSFStream) ssfStreamDTO {
	var aud any = st.Config.Audience
	if len(st.Config.Audience) == 1 {
		aud = st.Config.Audience[0]
	}
	return ssfStreamDTO{
		StreamID: st.Config.StreamID, Iss: s.opts.SSFIssuer, Aud: aud,
		EventsSupported: domain.SSFEventsSupported, EventsRequested: st.Config.EventsRequested, EventsDelivered: st.Config.EventsDelivered,
		Delivery:                ssfDeliveryDTO{Method: st.Config.Delivery.Method, EndpointURL: st.Config.Delivery.EndpointURL},
		MinVerificationInterval: int(s.ssf.MinVerificationInterval() / time.Second),
		Description:             st.Config.Description,
	}
}

// ssfStreamRequest is a create, PATCH or PUT body. Transmitter-supplied
// properties may be sent back but must match.
type ssfStreamRequest struct {
	StreamID                *string             `json:"stream_id"`
	Iss                     *string             `json:"iss"`
	Aud                     json.RawMessage     `json:"aud"`
	EventsSupported         []string            `json:"events_supported"`
	EventsRequested         *[]string           `json:"events_requested"`
	EventsDelivered         *[]string           `json:"events_delivered"`
	Delivery                *ssfDeliveryRequest `json:"delivery"`
	MinVerificationInterval *int                `json:"min_verification_interval"`
	InactivityTimeout       *int                `json:"inactivity_timeout"`
	Description             *string             `json:"description"`
}

type ssfDeliveryRequest struct {
	Method              string `json:"method"`
	EndpointURL         string `json:"endpoint_url"`
	AuthorizationHeader string `json:"authorization_header"`
}

// audience parses aud: a string or an array of strings.
func audience(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many, nil
	}
	return nil, domain.Errorf(domain.CodeValidation, "aud must be a string or an array of strings")
}

func applyRequest(cfg *domain.SSFStreamConfig, req ssfStreamRequest) {
	if req.EventsRequested != nil {
		cfg.EventsRequested = *req.EventsRequested
	}
	if req.Delivery != nil {
		cfg.Delivery = domain.SSFDelivery{Method: req.Delivery.Method, EndpointURL: req.Delivery.EndpointURL, AuthorizationHeader: req.Delivery.AuthorizationHeader}
	}
	if req.Description != nil {
		cfg.Description = *req.Description
	}
}
