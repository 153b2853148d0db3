// Package console is Gatehouse's web console: the pages where people sign
// in, create, edit, rotate and revoke API keys (with an expiry in days or on
// a date, and the networks a key may be used from; its credits are shown,
// not changed), manage the members and the key policy of their
// organization, and change their password.
//
// The pages are rendered on the server with html/template from an embedded
// file system, with one hand-written stylesheet and a few lines of script
// (the copy button, confirmation dialogs, and the expiry select following
// its date input); every form works without
// JavaScript. The console calls the [admin.Manager] for every action, so
// that each writes the audit event of its JSON API twin, and signs people
// in through the [session.Handler], so that its throttles apply.
//
//	con, err := console.New(mgr, login, console.Config{Prefix: "/console"})
//	mux.Handle("/console/", con)
//
// Security: the console accepts only its session cookie (never an API
// key); every state-changing request passes http.CrossOriginProtection;
// every response carries a Content-Security-Policy without inline script
// and with frame-ancestors 'none', X-Content-Type-Options: nosniff and
// Referrer-Policy: no-referrer; pages are Cache-Control: no-store. A new
// key is shown once, in the response to the POST that created or rotated
// it, never in a URL, a redirect or a log, and a form sent twice (a reload)
// does not show a second key. Every value is escaped by html/template.
package console
