package console

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse"
)

//go:embed templates static
var assets embed.FS

// page is what every template gets.
type page struct {
	Title  string
	Prefix string
	Nav    string  // the active item of the main navigation
	Me     *viewer // nil when signed out
	Flash  string  // a one-line confirmation of the last action
	Data   any
}

var funcs = template.FuncMap{
	"date":     func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
	"datetime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"when":     func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04") + " UTC" },
	"join":     strings.Join,
	"level":    levelLabel,
}

// parsePages parses each page template with the layout.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template, len(files))
	for _, f := range files {
		if f == "templates/layout.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, f)
		if err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	return pages, nil
}

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes the page named name with status. Rendering goes to a
// buffer first, so that a template error is a 500, not half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Prefix = c.prefix
	t, ok := c.pages[name]
	if !ok {
		panic("console: no page " + name)
	}
	buf := bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufs.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout", p); err != nil {
		c.log.ErrorContext(r.Context(), "console: template failed", "page", name, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorData struct {
	Status  int
	Message string
}

func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, v *viewer, status int, title, msg string) {
	c.render(w, r, status, "error", page{Title: title, Me: v, Data: errorData{Status: status, Message: msg}})
}

func itoa(n int) string { return strconv.Itoa(n) }

func retrySeconds(e *gatehouse.RateLimitError) int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// waitFor says how long to wait, in words.
func waitFor(e *gatehouse.RateLimitError) string {
	s := retrySeconds(e)
	switch {
	case s < 2:
		return "a second"
	case s < 120:
		return itoa(s) + " seconds"
	}
	return itoa((s+59)/60) + " minutes"
}
