package web

import "net/http"

// routeSQL adds the SQL pages. Not built yet: a placeholder that says so.
func (c *Console) routeSQL() {
	c.mux.HandleFunc("GET /sql", c.page(func(w http.ResponseWriter, r *http.Request, s *session) {
		c.render(w, r, s, http.StatusOK, "sql", "SQL", nil)
	}))
}
