// Package handler implements the product's routes as API Gateway HTTP API
// (payload format 2.0) handlers. Each Lambda function serves one route; the
// local runner serves all of them through the same code.
package handler

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/provider"
	"github.com/gitbook-login/lambda-oauth/shared/seal"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// Func is the signature lambda.Start accepts for an HTTP API route.
type Func func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Handler holds what every route needs. Build it once per execution
// environment; it is safe for concurrent use.
type Handler struct {
	cfg      config.Config
	store    *store.Store
	sealer   seal.Sealer
	provider *provider.Client
	log      *slog.Logger
	now      func() time.Time
}

// Deps are the parts a Handler is built from.
type Deps struct {
	Config   config.Config
	Store    *store.Store
	Sealer   seal.Sealer
	Provider *provider.Client
	Logger   *slog.Logger
	Now      func() time.Time // nil means time.Now
}

// New builds a Handler.
func New(d Deps) *Handler {
	h := &Handler{cfg: d.Config, store: d.Store, sealer: d.Sealer, provider: d.Provider, log: d.Logger, now: d.Now}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

// Route is one method and path that the product serves, with its handler.
type Route struct {
	Method string
	Path   string
	Name   string // also the function folder under functions/
	Func   Func
}

// Routes lists every route. The template check and the local runner read
// this table, so a route cannot exist in one place only.
func (h *Handler) Routes() []Route {
	return []Route{
		{"GET", "/authorize", "authorize", h.Authorize},
		{"GET", "/callback", "callback", h.Callback},
		{"GET", "/account", "account", h.Account},
		{"OPTIONS", "/account", "account", h.Account},
		{"POST", "/logout", "logout", h.Logout},
		{"OPTIONS", "/logout", "logout", h.Logout},
		{"POST", "/session", "session", h.Session},
		{"OPTIONS", "/session", "session", h.Session},
	}
}

// Authorize serves GET /authorize.
func (h *Handler) Authorize(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.serve(ctx, "authorize", req, h.authorize), nil
}

// Callback serves GET /callback.
func (h *Handler) Callback(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.serve(ctx, "callback", req, h.callback), nil
}

// Account serves GET /account and its CORS preflight.
func (h *Handler) Account(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.serve(ctx, "account", req, h.account), nil
}

// Logout serves POST /logout and its CORS preflight.
func (h *Handler) Logout(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.serve(ctx, "logout", req, h.logout), nil
}

// Session serves POST /session, where a cross-site page redeems its handoff
// code, and its CORS preflight.
func (h *Handler) Session(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.serve(ctx, "session", req, h.session), nil
}
