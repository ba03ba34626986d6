package web

import "net/http"

// routeHosts adds the Hosts pages. Not built yet: a placeholder that says so.
func (c *Console) routeHosts() {
	c.mux.HandleFunc("GET /hosts", c.page(func(w http.ResponseWriter, r *http.Request, s *session) {
		c.render(w, r, s, http.StatusOK, "hosts", "Hosts", nil)
	}))
}
