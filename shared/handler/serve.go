package handler

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// result is a route's response plus what the request log line needs. The
// outcome is a short fixed word (login_ok, state_invalid, ...) for metrics
// and searches; detail is for operators and must never hold a secret.
type result struct {
	resp    events.APIGatewayV2HTTPResponse
	outcome string
	detail  string
	attrs   []slog.Attr
}

// responseMargin is kept free before the invocation's deadline, which
// Lambda sets from the function timeout. Backend calls stop that much
// earlier, so a route whose calls run out of time still returns its error
// response before Lambda ends the invocation, which API Gateway would
// turn into a bare 503.
const responseMargin = 500 * time.Millisecond

// serve runs one route and writes the one log line of the request. Every
// response leaves through here, so the headers every response needs are set
// once.
func (h *Handler) serve(ctx context.Context, route string, req events.APIGatewayV2HTTPRequest, fn func(context.Context, *request) result) events.APIGatewayV2HTTPResponse {
	start := time.Now()

	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-responseMargin))
		defer cancel()
	}

	var res result
	r, problem := parseRequest(req)
	if problem != nil {
		res = problem.result(route == "authorize" || route == "callback", h.cfg.DefaultReturnTo)
	} else {
		res = fn(ctx, r)
	}
	addCommonHeaders(&res.resp, h.cfg.CookieSecure)

	level := slog.LevelInfo
	if res.resp.StatusCode >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("request_id", req.RequestContext.RequestID),
		slog.String("route", route),
		slog.String("method", req.RequestContext.HTTP.Method),
		slog.Int("status", res.resp.StatusCode),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("outcome", res.outcome),
	}
	if res.detail != "" {
		attrs = append(attrs, slog.String("error", res.detail))
	}
	attrs = append(attrs, res.attrs...)
	if route == "callback" {
		attrs = append(attrs, loginMetricAttrs(res.outcome, time.Now())...)
	}
	h.log.LogAttrs(ctx, level, "request", attrs...)

	return res.resp
}
