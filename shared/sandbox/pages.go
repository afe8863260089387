package sandbox

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
)

// consentTemplate is the consent page. The buttons keep the ids "approve" and
// "deny" because browser tests click them by id. The hidden fields repeat the
// request so that handleDecide can reject a form whose fields were altered.
var consentTemplate = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sandbox GitBook: authorize {{.Request.ClientID}}</title>
</head>
<body>
<h1>Authorize application</h1>
<p>The application <code>{{.Request.ClientID}}</code> requests access to the GitBook account of
{{.Account.DisplayName}}{{with .Account.Email}} ({{.}}){{end}}.</p>
{{with .Request.Scope}}<p>Requested scopes: <code>{{.}}</code></p>{{end}}
<p>After your decision, your browser goes to <code>{{.Request.RedirectURI}}</code>.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="nonce" value="{{.Nonce}}">
<input type="hidden" name="client_id" value="{{.Request.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.Request.RedirectURI}}">
<input type="hidden" name="state" value="{{.Request.State}}">
<input type="hidden" name="scope" value="{{.Request.Scope}}">
<input type="hidden" name="code_challenge" value="{{.Request.Challenge}}">
<input type="hidden" name="code_challenge_method" value="{{.Request.ChallengeMethod}}">
<button type="submit" id="approve" name="decision" value="approve">Approve</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>
</body>
</html>
`))

var errorTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sandbox GitBook: authorization failed</title>
</head>
<body>
<h1>Authorization failed</h1>
<p id="error">{{.}}</p>
</body>
</html>
`))

type consentPage struct {
	Request authRequest
	Account Account
	Action  string
	Nonce   string
}

// renderConsent writes the consent page. Its Content-Security-Policy allows
// form submission to the redirect URI's origin and to Options.OnwardOrigins
// because Chromium applies form-action to every redirect that follows the
// submission.
func (p *Provider) renderConsent(w http.ResponseWriter, page consentPage) {
	target, _ := url.Parse(page.Request.RedirectURI) // validated by New
	formAction := "'self' " + target.Scheme + "://" + target.Host
	for _, o := range p.opts.OnwardOrigins {
		formAction += " " + o
	}

	var body bytes.Buffer
	if err := consentTemplate.Execute(&body, page); err != nil {
		p.log.Error("sandbox: consent page failed to render", "error", err)
		http.Error(w, "internal error: the consent page failed to render", http.StatusInternalServerError)
		return
	}
	writeHTML(w, http.StatusOK, formAction, body.Bytes())
}

// renderError writes an HTML error page. It never redirects, because the
// error may be that the redirect URI is not registered.
func (p *Provider) renderError(w http.ResponseWriter, r *http.Request, status int, message string) {
	p.log.Info("sandbox: rejected request", "path", r.URL.Path, "status", status, "reason", message)

	var body bytes.Buffer
	if err := errorTemplate.Execute(&body, message); err != nil {
		p.log.Error("sandbox: error page failed to render", "error", err)
		http.Error(w, message, status)
		return
	}
	writeHTML(w, status, "'none'", body.Bytes())
}

// writeHTML writes an HTML page with headers that forbid framing, scripts,
// MIME sniffing, caching and referrers (the page's URL has the state).
func writeHTML(w http.ResponseWriter, status int, formAction string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy",
		"default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action "+formAction)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
