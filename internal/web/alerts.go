package web

import "net/http"

// routeAlerts adds the Alerts pages.
func (c *Console) routeAlerts() {
	c.mux.HandleFunc("GET /alerts", c.page(func(w http.ResponseWriter, r *http.Request, s *session) {
		c.render(w, r, s, http.StatusOK, "alerts", "Alerts", nil)
	}))
}
