package web

import "net/http"

// routeRules adds the Rules pages. Not built yet: a placeholder that says so.
func (c *Console) routeRules() {
	c.mux.HandleFunc("GET /rules", c.page(func(w http.ResponseWriter, r *http.Request, s *session) {
		c.render(w, r, s, http.StatusOK, "rules", "Rules", nil)
	}))
}
