package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// An analyst runs SQL, reads the table, and downloads the answer as CSV
// through the console; values that look like HTML stay text.
func TestBrowserSQLAndCSV(t *testing.T) {
	c := startConsole(t)
	now := time.Now()
	var lines strings.Builder
	for i, exe := range []string{"/usr/bin/curl", "/usr/bin/curl", "/tmp/<img src=x onerror=alert(1)>"} {
		lines.WriteString(eventLine(fmt.Sprintf("sql-%d", i), "web-1", now.Add(-time.Duration(i)*time.Minute),
			map[string]any{"event_type": "audit", "exe": exe, "user": "root"}))
	}
	c.ingest(t, c.AdminA, []byte(lines.String()))
	c.ingest(t, c.AdminB, []byte(eventLine("sql-b", "web-b", now, map[string]any{"event_type": "audit", "exe": "/usr/bin/other-org"})))

	ctx := browser(t)
	c.signIn(t, ctx, c.AnalystA)
	c.open(t, ctx, "/sql", "#sql")
	const q = "SELECT exe, count(*) AS n FROM events GROUP BY exe ORDER BY n DESC, exe"
	navigate(t, ctx, "run SQL", "#sql-results",
		chromedp.SetValue(chromedp.CSS("#sql"), q), chromedp.Click(chromedp.CSS("#sql-run")))
	cells := eval[[]string](t, ctx, `[...document.querySelectorAll('#sql-results tr')].map(tr => [...tr.children].map(td => td.textContent).join('|'))`)
	want := []string{"exe|n", "/usr/bin/curl|2", "/tmp/<img src=x onerror=alert(1)>|1"}
	if strings.Join(cells, "\n") != strings.Join(want, "\n") {
		t.Errorf("the table reads\n%s\nwant\n%s", strings.Join(cells, "\n"), strings.Join(want, "\n"))
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#sql-results img').length`); n != 0 {
		t.Errorf("a value became %d img elements", n)
	}
	if u := eval[string](t, ctx, `new URLSearchParams(location.search).get('sql')`); u != q {
		t.Errorf("the statement is not in the URL: %q", u)
	}
	screenshot(t, ctx, "sql")

	csv := download(t, ctx, "#sql-csv", "spoor.csv")
	if want := "exe,n\n/usr/bin/curl,2\n/tmp/<img src=x onerror=alert(1)>,1\n"; csv != want {
		t.Errorf("the CSV download holds\n%s\nwant\n%s", csv, want)
	}
	if pq := download(t, ctx, "#sql-parquet", "spoor.parquet"); !strings.HasPrefix(pq, "PAR1") {
		t.Errorf("the Parquet download starts %q", pq[:min(len(pq), 8)])
	}

	// A statement the SQL gate refuses: the API's reason, on the page and
	// for its download.
	navigate(t, ctx, "run refused SQL", "#sql-error",
		chromedp.SetValue(chromedp.CSS("#sql"), "SELECT * FROM read_text('/etc/passwd')"), chromedp.Click(chromedp.CSS("#sql-run")))
	if got := text(t, ctx, "#sql-error"); !strings.Contains(got, "read_text") {
		t.Errorf("the refusal says %q", got)
	}
	code, body := getWith(t, c.session(t, c.AnalystA), c.URL+"/sql/download?format=csv&sql="+"SELECT%20*%20FROM%20read_text('x')")
	if code != 400 || !strings.Contains(body, "the download failed") {
		t.Errorf("a refused download: %d", code)
	}
}

// download clicks the link sel and returns the file the browser saved as
// name.
func download(t testing.TB, ctx context.Context, sel, name string) string {
	t.Helper()
	dir := t.TempDir()
	events := true
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: &events}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	lctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	done := make(chan cdpbrowser.DownloadProgressState, 1)
	if err := chromedp.ListenBrowser(lctx, func(ev any) {
		if p, ok := ev.(*cdpbrowser.EventDownloadProgress); ok && (p.State == cdpbrowser.DownloadProgressStateCompleted || p.State == cdpbrowser.DownloadProgressStateCanceled) {
			select {
			case done <- p.State:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "click "+sel, chromedp.Click(chromedp.CSS(sel)))
	select {
	case st := <-done:
		if st != cdpbrowser.DownloadProgressStateCompleted {
			t.Fatalf("the download of %s was %s", sel, st)
		}
	case <-lctx.Done():
		t.Fatalf("the download of %s did not complete", sel)
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
