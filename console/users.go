package console

import (
	"net/http"
	"net/url"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/apiwire"
	"github.com/sessiond/sessiond/internal/app"
)

// pageSize is how many sessions the users page lists at a time.
const pageSize = 50

type usersView struct {
	User     string
	Status   string
	Statuses []string
	Sessions []app.Session
	Next     string // cursor of the next page
	Answer   *apiwire.ListResponse
}

// users finds a user and lists their sessions (GET /console/users).
func (c *Console) users(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := usersView{User: q.Get("user"), Status: q.Get("status"), Statuses: []string{"all", "active", "revoked", "expired"}}
	switch v.Status {
	case "":
		v.Status = "all"
	case "all", "active", "revoked", "expired":
	default:
		c.renderView(w, r, http.StatusBadRequest, "users", view{Page: v, Error: c.errorOf(r,
			domain.Errorf(domain.CodeValidation, "status must be active, revoked, expired or all"))})
		return
	}
	if v.User == "" {
		c.render(w, r, http.StatusOK, "users", v)
		return
	}
	list, next, err := c.svc.List(r.Context(), app.ListFilter{UserID: v.User, Status: v.Status, After: q.Get("after"), Limit: pageSize})
	if err != nil {
		e := c.errorOf(r, err)
		c.renderView(w, r, e.Status, "users", view{Page: v, Error: e})
		return
	}
	v.Sessions, v.Next = list, next
	v.Answer = &apiwire.ListResponse{Sessions: make([]apiwire.SessionDTO, len(list))}
	for i, s := range list {
		v.Answer.Sessions[i] = apiwire.SessionDTOOf(s)
	}
	if next != "" {
		v.Answer.Next = &next
	}
	c.render(w, r, http.StatusOK, "users", v)
}

// revokedView shows the outcome of a revocation as the API would answer.
type revokedView struct {
	User      string
	SessionID string // "" for revoke-all
	Reason    string
	One       *apiwire.RevokeResponse
	All       *apiwire.RevokeAllResponse
}

// revoke revokes one session with a reason.
func (c *Console) revoke(w http.ResponseWriter, r *http.Request) {
	user, sid, reason := r.PathValue("user"), r.PathValue("session"), r.PostForm.Get("reason")
	if err := validRevoke(user, sid, reason); err != nil {
		c.fail(w, r, err)
		return
	}
	res, err := c.svc.Revoke(r.Context(), c.meta(r, current(r)), user, sid, reason)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var recs []app.Event
	switch {
	case res.Event != nil:
		recs = []app.Event{*res.Event}
	case res.Original != nil:
		recs = []app.Event{*res.Original}
	}
	out := &apiwire.RevokeResponse{SessionDTO: apiwire.SessionDTOOf(res.Session), AlreadyRevoked: res.AlreadyRevoked, Broadcast: c.broadcast(r, recs)}
	c.render(w, r, http.StatusOK, "revoked", revokedView{User: user, SessionID: sid, Reason: reason, One: out})
}

// revokeAll revokes every active session of a user with a reason.
func (c *Console) revokeAll(w http.ResponseWriter, r *http.Request) {
	user, reason := r.PathValue("user"), r.PostForm.Get("reason")
	if err := validRevoke(user, "", reason); err != nil {
		c.fail(w, r, err)
		return
	}
	m := c.meta(r, current(r))
	m.CorrelationID = m.RequestID
	list, recs, err := c.svc.RevokeAll(r.Context(), m, user, reason)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	out := &apiwire.RevokeAllResponse{Revoked: len(list), Sessions: make([]apiwire.SessionDTO, len(list)), Broadcast: c.broadcast(r, recs)}
	for i, s := range list {
		out.Sessions[i] = apiwire.SessionDTOOf(s)
	}
	if len(recs) > 0 {
		out.CorrelationID = m.CorrelationID
	}
	c.render(w, r, http.StatusOK, "revoked", revokedView{User: user, Reason: reason, All: out})
}

func validRevoke(user, sid, reason string) error {
	if err := domain.ValidateUserID(user); err != nil {
		return err
	}
	if sid != "" {
		if err := domain.ValidateSessionID(sid); err != nil {
			return err
		}
	}
	return domain.ValidateReason(reason)
}

// broadcast publishes fresh revocations at once, as the API does, and
// says whether JetStream acknowledged them in time.
func (c *Console) broadcast(r *http.Request, recs []app.Event) apiwire.BroadcastDTO {
	if len(recs) > 0 && c.opts.Broadcaster != nil && c.opts.Broadcaster.PublishNow(r.Context(), recs) {
		return apiwire.BroadcastDTO{Status: "published"}
	}
	return apiwire.BroadcastDTO{Status: "pending"}
}

// storyURL is the console path of a session's story.
func storyURL(user, sid string) string {
	return Prefix + "users/" + url.PathEscape(user) + "/sessions/" + url.PathEscape(sid)
}
