package handler

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// addCommonHeaders sets the headers every response carries: nothing we send may be
// cached (it is per visitor), sniffed, or leak its URL through Referer.
func addCommonHeaders(resp *events.APIGatewayV2HTTPResponse, secure bool) {
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	resp.Headers["Cache-Control"] = "no-store"
	resp.Headers["X-Content-Type-Options"] = "nosniff"
	resp.Headers["Referrer-Policy"] = "no-referrer"
	if secure {
		resp.Headers["Strict-Transport-Security"] = "max-age=63072000"
	}
}

// errorBody is the JSON shape of every API error.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func jsonError(status int, code, message string) events.APIGatewayV2HTTPResponse {
	return jsonResponse(status, errorBody{Error: code, Message: message})
}

func jsonResponse(status int, v any) events.APIGatewayV2HTTPResponse {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal","message":"Failed to encode the response."}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}
}

func redirect(status int, location string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Location": location},
	}
}

// pageStyle is the only style of our HTML; CSP allows exactly this text by
// its hash, so no other inline style or any script can run on the page.
const pageStyle = "body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;line-height:1.5}"

var (
	pageCSP = "default-src 'none'; style-src 'sha256-" + styleHash() + "'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

	pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title><style>` + pageStyle + `</style></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p>{{if .Link}}<p><a href="{{.Link}}">Back to the site</a></p>{{end}}</body></html>
`))
)

func styleHash() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// htmlError builds the page shown to a visitor when authorize or callback fails and
// there is no safe return URL to send them to. Everything is escaped by
// html/template; link is always a configured URL, never request input.
func htmlError(status int, title, message, link string) events.APIGatewayV2HTTPResponse {
	var b strings.Builder
	_ = pageTemplate.Execute(&b, struct{ Title, Message, Link string }{title, message, link})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Content-Security-Policy": pageCSP,
			"X-Frame-Options":         "DENY",
		},
		Body: b.String(),
	}
}
