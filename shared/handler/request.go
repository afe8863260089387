package handler

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Limits checked before any backend call. Real values are far smaller: a
// state or session id is 43 characters, a GitBook code under 100.
const (
	maxQueryBytes  = 4096
	maxCookieBytes = 8192
	maxBodyBytes   = 4096
	maxParamBytes  = 2048 // the maximum is return_to's, origin.MaxReturnToLength
	maxCodeBytes   = 512
)

// request is the part of a payload 2.0 event the routes read, parsed once.
type request struct {
	method  string
	query   url.Values
	cookies []*http.Cookie
	headers map[string]string // lower-case names, as API Gateway sends them
	body    []byte
}

// problem is a request rejected before any route logic ran.
type problem struct {
	status  int
	code    string
	message string
}

// result responds with JSON for API routes and with an HTML page for the
// routes a browser loads as a page (authorize and callback).
func (p *problem) result(page bool, link string) result {
	if page {
		return result{resp: htmlError(p.status, "Login failed", p.message, link), outcome: p.code}
	}
	return result{resp: jsonError(p.status, p.code, p.message), outcome: p.code}
}

// parseRequest applies the size limits and decodes the query string exactly
// once from rawQueryString. queryStringParameters is never read: API Gateway
// joins repeated parameters there with commas, which hides a second state.
func parseRequest(ev events.APIGatewayV2HTTPRequest) (*request, *problem) {
	if len(ev.RawQueryString) > maxQueryBytes {
		return nil, &problem{http.StatusBadRequest, "query_too_long", "The query string is too long. Start the login again from the site."}
	}
	query, err := url.ParseQuery(ev.RawQueryString)
	if err != nil {
		return nil, &problem{http.StatusBadRequest, "query_invalid", "The query string is not valid URL encoding (a raw semicolon or a malformed %-escape). Start the login again from the site."}
	}
	for _, values := range query {
		for _, v := range values {
			if len(v) > maxParamBytes {
				return nil, &problem{http.StatusBadRequest, "parameter_too_long", "A query parameter is too long."}
			}
		}
	}

	headers := make(map[string]string, len(ev.Headers))
	for name, value := range ev.Headers {
		headers[strings.ToLower(name)] = value
	}

	cookies, p := parseCookies(ev.Cookies, headers["cookie"])
	if p != nil {
		return nil, p
	}

	body, p := decodeBody(ev)
	if p != nil {
		return nil, p
	}

	return &request{
		method:  strings.ToUpper(ev.RequestContext.HTTP.Method),
		query:   query,
		cookies: cookies,
		headers: headers,
		body:    body,
	}, nil
}

// parseCookies reads the payload 2.0 cookies array, one "name=value" an
// entry. sam local and some proxies send a Cookie header instead; it is read
// only when the array is empty, so no cookie is counted twice.
func parseCookies(entries []string, header string) ([]*http.Cookie, *problem) {
	size := len(header)
	for _, e := range entries {
		size += len(e) + 2
	}
	if size > maxCookieBytes {
		return nil, &problem{http.StatusRequestHeaderFieldsTooLarge, "cookies_too_large", "The request's cookies are too large. Clear this site's cookies and try again."}
	}

	if len(entries) == 0 && header != "" {
		entries = []string{header}
	}

	// Each pair is parsed on its own: http.ParseCookie rejects a whole
	// header for one bad pair, and a malformed cookie from another
	// application on the same site must not hide ours or lock visitors out.
	var cookies []*http.Cookie
	for _, e := range entries {
		for _, pair := range strings.Split(e, ";") {
			pair = strings.TrimSpace(pair)
			if pair == "" {
				continue
			}
			parsed, err := http.ParseCookie(pair)
			if err != nil {
				continue
			}
			cookies = append(cookies, parsed...)
		}
	}
	return cookies, nil
}

func decodeBody(ev events.APIGatewayV2HTTPRequest) ([]byte, *problem) {
	limit := maxBodyBytes
	if ev.IsBase64Encoded {
		limit = base64.StdEncoding.EncodedLen(maxBodyBytes)
	}
	if len(ev.Body) > limit {
		return nil, &problem{http.StatusRequestEntityTooLarge, "body_too_large", "The request body is too large."}
	}
	if !ev.IsBase64Encoded {
		return []byte(ev.Body), nil
	}
	body, err := base64.StdEncoding.DecodeString(ev.Body)
	if err != nil {
		return nil, &problem{http.StatusBadRequest, "body_invalid", "The request body is not valid base64."}
	}
	return body, nil
}

// single returns the one value of a query parameter. ok is false when the
// parameter is absent or appears more than once.
func (r *request) single(name string) (value string, ok bool) {
	values := r.query[name]
	if len(values) != 1 {
		return "", false
	}
	return values[0], true
}

// cookie returns the values of every cookie with that name. Two cookies of
// one name mean another path or domain set one too (cookie tossing), so
// callers treat more than one as an error rather than guess.
func (r *request) cookie(name string) []string {
	var values []string
	for _, c := range r.cookies {
		if c.Name == name {
			values = append(values, c.Value)
		}
	}
	return values
}

// bearer returns the credentials of an "Authorization: Bearer" header.
func (r *request) bearer() (string, bool) {
	value := r.headers["authorization"]
	scheme, credentials, found := strings.Cut(value, " ")
	if !found || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	return strings.TrimSpace(credentials), true
}
