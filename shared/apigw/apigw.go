// Package apigw translates between net/http and API Gateway HTTP API payload
// format 2.0 events, the way API Gateway does in front of a Lambda function.
// The local runner and the tests use it so that an HTTP request reaches the
// handlers in the exact shape a deployed function receives.
package apigw

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// MaxBodyBytes bounds request bodies. API Gateway accepts 10 MB, but a
// synchronous Lambda invocation takes at most 6,291,456 bytes for the whole
// event, so a larger body never reaches a function. The limit leaves about
// 290 KB for the event's other fields.
const MaxBodyBytes = 6_000_000

// Event builds a payload 2.0 event from an HTTP request, as API Gateway
// does: header names in lower case, repeated headers joined with commas,
// cookies moved from the Cookie header into the cookies array, the raw query
// string kept as sent, and a body that is not UTF-8 encoded in base64.
func Event(r *http.Request, routeKey, stage string) (events.APIGatewayV2HTTPRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("read request body: %w", err)
	}
	if len(body) > MaxBodyBytes {
		return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("request body larger than %d bytes", MaxBodyBytes)
	}

	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if lower == "cookie" {
			for _, v := range values {
				for _, part := range strings.Split(v, ";") {
					if part = strings.TrimSpace(part); part != "" {
						cookies = append(cookies, part)
					}
				}
			}
			continue
		}
		headers[lower] = strings.Join(values, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}

	now := time.Now()
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       routeKey,
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Cookies:        cookies,
		Headers:        headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:   routeKey,
			Stage:      stage,
			RequestID:  strconv.FormatInt(now.UnixNano(), 36),
			DomainName: r.Host,
			Time:       now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:  now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if stage != "" && stage != "$default" {
		ev.RawPath = "/" + stage + ev.RawPath
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev, nil
}

// Write sends a payload 2.0 response as HTTP: each entry of cookies becomes
// its own Set-Cookie header, and a base64 body is decoded.
func Write(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) error {
	for name, value := range resp.Headers {
		w.Header().Set(name, value)
	}
	for name, values := range resp.MultiValueHeaders {
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}

	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			http.Error(w, "invalid base64 body from the function", http.StatusBadGateway)
			return fmt.Errorf("decode response body: %w", err)
		}
		body = decoded
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}
