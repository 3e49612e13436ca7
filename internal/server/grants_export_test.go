package server

// GrantDecisions returns every table the serve role's grants decide on:
// the granted ones and the ones deliberately left out.
func GrantDecisions() map[string]bool {
	out := map[string]bool{}
	for _, g := range serveGrants {
		out[g.Table] = true
	}
	for t := range notGranted {
		out[t] = false
	}
	return out
}
