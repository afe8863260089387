package handler

import (
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/shared/origin"
)

// csrfHeader must accompany cookie-authenticated POSTs. A page cannot add a
// custom header to a cross-origin request without a CORS preflight, which
// only allowed origins pass.
const csrfHeader = "x-requested-with"

// corsOrigin checks the Origin header. A request without one is not a
// cross-origin browser request, so it passes with no CORS headers. A request
// from an origin that is not allowed is rejected, never reflected.
func (h *Handler) corsOrigin(r *request) (allowedOrigin string, ok bool) {
	o, present := r.headers["origin"]
	if !present {
		return "", true
	}
	if origin.Allowed(o, h.cfg.AllowedOrigins) {
		return o, true
	}
	return "", false
}

// withCORS adds the headers that let an allowed origin read the response with
// credentials. Vary: Origin keeps caches from serving it to another origin.
func withCORS(resp events.APIGatewayV2HTTPResponse, allowedOrigin string) events.APIGatewayV2HTTPResponse {
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	resp.Headers["Vary"] = "Origin"
	if allowedOrigin != "" {
		resp.Headers["Access-Control-Allow-Origin"] = allowedOrigin
		resp.Headers["Access-Control-Allow-Credentials"] = "true"
	}
	return resp
}

func originRejected() result {
	return result{
		resp:    withCORS(jsonError(http.StatusForbidden, "origin_not_allowed", "This origin is not allowed to call the login API. Add it to ALLOWED_ORIGINS."), ""),
		outcome: "origin_rejected",
	}
}

// preflight responds to a CORS preflight (OPTIONS) for an allowed origin.
func (h *Handler) preflight(r *request, methods string) result {
	allowed, ok := h.corsOrigin(r)
	if !ok || allowed == "" {
		return originRejected()
	}
	resp := withCORS(events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent}, allowed)
	resp.Headers["Access-Control-Allow-Methods"] = methods
	resp.Headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, X-Requested-With"
	resp.Headers["Access-Control-Max-Age"] = "600"
	return result{resp: resp, outcome: "preflight"}
}
